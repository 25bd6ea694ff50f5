"""examples/claude_code_mcp: the MCP configurations for Claude Code are valid JSON, and the
servers they name answer an MCP ``initialize``: ``plexus mcp`` over stdio (a raw JSON-RPC
line exchange), and Streamable HTTP at ``/mcp`` with the bearer token header."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx

from plexus.testing import NodeProcess

EXAMPLE = Path(__file__).resolve().parents[1] / "claude_code_mcp"

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "example-test", "version": "0"}},
}


def expand(text: str, env: dict[str, str]) -> str:
    """Claude Code's expansion in .mcp.json: ``${VAR}`` and ``${VAR:-default}``."""

    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(3)
        return env.get(name) or (default if default is not None else "")

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}", one, text)


def load(name: str) -> dict[str, Any]:
    config = json.loads((EXAMPLE / name).read_text(encoding="utf-8"))
    assert set(config) == {"mcpServers"} and set(config["mcpServers"]) == {"plexus"}
    server: dict[str, Any] = config["mcpServers"]["plexus"]
    return server


def test_stdio_configuration_starts_plexus_mcp_and_answers_initialize(node: NodeProcess, plexus_binary: Path) -> None:
    server = load(".mcp.json")
    assert server["type"] == "stdio" and server["command"] == "plexus"
    assert server["args"][:2] == ["mcp", "--data"]
    env = {"PLEXUS_HOME": str(node.data_dir)}
    args = [expand(arg, env) for arg in server["args"]]
    assert args == ["mcp", "--data", str(node.data_dir)]
    # Without PLEXUS_HOME it falls back to the CLI's default directory.
    assert [expand(arg, {}) for arg in server["args"]][2] == "~/.plexus"

    process = subprocess.Popen(
        [str(plexus_binary), *args],  # "plexus" on the PATH, here the binary under test
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **server.get("env", {})},
        text=True,
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(INITIALIZE) + "\n")
        process.stdin.flush()
        reply = json.loads(process.stdout.readline())
        assert reply["id"] == 1 and "error" not in reply
        assert reply["result"]["serverInfo"]["name"] == "plexus"
        assert reply["result"]["protocolVersion"]
        assert "tools" in reply["result"]["capabilities"]

        process.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
        process.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}) + "\n")
        process.stdin.flush()
        tools = json.loads(process.stdout.readline())
        names = {tool["name"] for tool in tools["result"]["tools"]}
        assert {"publish", "search", "send_task"} <= names
        process.stdin.close()
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def test_http_configuration_answers_initialize_with_the_token(node: NodeProcess) -> None:
    server = load("mcp-http.json")
    assert server["type"] == "http"
    assert server["url"] == "http://127.0.0.1:7464/mcp"  # the default API address
    url = server["url"].replace("127.0.0.1:7464", node.api_address)
    headers = {name: expand(value, {"PLEXUS_API_TOKEN": node.token}) for name, value in server["headers"].items()}
    assert headers == {"Authorization": f"Bearer {node.token}"}

    accept = {"Accept": "application/json, text/event-stream"}
    with httpx.Client(trust_env=False, timeout=15) as http:
        response = http.post(url, json=INITIALIZE, headers={**headers, **accept})
        assert response.status_code == 200, response.text
        session = response.headers["Mcp-Session-Id"]
        # A server may answer with one JSON body or an SSE stream; Plexus sends JSON.
        if response.headers["content-type"].startswith("application/json"):
            messages = [response.json()]
        else:
            messages = [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:") and line[5:].strip()]
        (reply,) = [m for m in messages if m.get("id") == 1]
        assert reply["result"]["serverInfo"]["name"] == "plexus"
        http.request("DELETE", url, headers={**headers, "Mcp-Session-Id": session})

        refused = http.post(url, json=INITIALIZE, headers={"Authorization": "Bearer wrong", **accept})
        assert refused.status_code == 401
