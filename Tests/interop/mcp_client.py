"""An independent MCP client (the official Python SDK from PyPI) driving a Plexus node.

Usage:
  mcp_client.py http URL TOKEN WORD
  mcp_client.py stdio PLEXUS_BINARY DATA_DIR WORD

Connects with the SDK's default negotiation, lists the tools, publishes an entry containing
WORD, searches for WORD, and makes three calls that must fail: a malformed entry id, an
unknown argument, and an unknown tool. Prints one JSON object with what it saw; the Swift
test decides what is right.
"""

import json
import sys

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def text_of(result):
    return "".join(getattr(part, "text", "") for part in result.content)


async def exercise(client, word):
    report = {"protocol_version": client.protocol_version}
    tools = await client.list_tools()
    report["tools"] = sorted(tool.name for tool in tools.tools)
    schemas = {tool.name: tool.input_schema for tool in tools.tools}
    report["publish_required"] = schemas.get("publish", {}).get("required", [])

    published = await client.call_tool("publish", {"content": {"text": f"interop {word} entry"}, "tags": ["mcp"]})
    report["publish_error"] = bool(published.is_error)
    report["published"] = json.loads(text_of(published)) if not published.is_error else text_of(published)
    report["published_structured"] = published.structured_content

    found = await client.call_tool("search", {"query": word})
    report["search_error"] = bool(found.is_error)
    report["search_ids"] = [hit["entry"]["id"] for hit in json.loads(text_of(found))["hits"]] if not found.is_error else []

    batch = await client.call_tool(
        "publish_batch", {"entries": [{"content": {"text": f"batch {n}"}, "topic": "mcp-batch"} for n in range(3)]}
    )
    report["batch"] = {"is_error": bool(batch.is_error), "seqs": [e["seq"] for e in json.loads(text_of(batch))["entries"]] if not batch.is_error else text_of(batch)}

    bad_id = await client.call_tool("get", {"id": "not-an-id"})
    report["bad_id"] = {"is_error": bool(bad_id.is_error), "text": text_of(bad_id)}

    unknown_argument = await client.call_tool("search", {"query": word, "colour": "blue"})
    report["unknown_argument"] = {"is_error": bool(unknown_argument.is_error), "text": text_of(unknown_argument)}

    try:
        unknown = await client.call_tool("no_such_tool", {})
        report["unknown_tool"] = {"raised": False, "is_error": bool(unknown.is_error), "text": text_of(unknown)}
    except Exception as error:  # the SDK raises on a JSON-RPC error
        report["unknown_tool"] = {"raised": True, "text": str(error)}

    # Tasks through MCP: this agent works on a task it sends itself.
    await client.call_tool("next_task", {"capability": "py-echo", "wait_ms": 0})  # offer the capability
    sent = json.loads(text_of(await client.call_tool("send_task", {"capability": "py-echo", "payload": {"word": word}})))
    taken = json.loads(text_of(await client.call_tool("next_task", {"capability": "py-echo", "wait_ms": 5000})))["task"]
    await client.call_tool("complete_task", {"id": taken["id"], "result": {"heard": taken["payload"]["word"]}})
    finished = json.loads(text_of(await client.call_tool("get_task", {"id": sent["id"], "wait_ms": 5000})))
    report["task"] = {"same_id": taken["id"] == sent["id"], "state": finished["state"], "result": finished.get("result")}

    # A private group through MCP: created, an entry sealed into it, read back opened.
    group = json.loads(text_of(await client.call_tool("group_create", {"name": f"mcp {word}"})))
    sealed = await client.call_tool("group_publish", {"group": group["id"], "type": "claim", "content": {"text": f"sealed {word}"}})
    read = json.loads(text_of(await client.call_tool("group_read", {"group": group["id"]})))
    context = json.loads(text_of(await client.call_tool("compile_context", {"group": group["id"], "query": f"sealed {word}", "budget": 200})))
    task = json.loads(text_of(await client.call_tool("board_create", {"group": group["id"], "title": f"task {word}"})))
    board = json.loads(text_of(await client.call_tool("board_list", {"group": group["id"]})))
    report["group"] = {"id": group["id"], "role": group.get("role"), "publish_error": bool(sealed.is_error),
                       "read": [(entry["type"], entry["content"].get("text")) for entry in read["entries"]],
                       "context": context["text"], "board": [(t["id"] == task["id"], t["title"], t["state"]) for t in board["tasks"]]}

    resources = await client.list_resources()
    report["resources"] = sorted(str(resource.uri) for resource in resources.resources)
    return report


async def main():
    mode = sys.argv[1]
    if mode == "http":
        url, token, word = sys.argv[2], sys.argv[3], sys.argv[4]
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
        async with http:
            async with Client(streamable_http_client(url, http_client=http)) as client:
                report = await exercise(client, word)
    else:
        binary, data, word = sys.argv[2], sys.argv[3], sys.argv[4]
        server = StdioServerParameters(command=binary, args=["mcp", "--data", data])
        async with Client(server) as client:
            report = await exercise(client, word)
    print(json.dumps(report))


anyio.run(main)
