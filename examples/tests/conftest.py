"""Fixtures of the examples' tests: real ``plexus serve`` nodes, and a stand-in LLM.

The examples talk to an LLM through an OpenAI-compatible endpoint. No real endpoint can
be reached from the machines these tests run on, so :class:`StandInLLM` is a tiny HTTP
server on 127.0.0.1, written here, that answers ``POST /v1/chat/completions``
deterministically ("stand-in reply to: <the last user message>") and records every
request, so the tests can check what the examples sent.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from plexus.pytest_fixtures import StartNode, pytest_runtest_makereport, start_node, wait_connected  # noqa: F401 (fixtures and hook)
from plexus.testing import NodeProcess, find_binary

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def plexus_binary() -> Path:
    """The ``plexus`` binary under test (``$PLEXUS_BINARY``, else this repository's debug build)."""
    return find_binary(os.environ.get("PLEXUS_BINARY") or REPO / ".build" / "debug" / "plexus")


class StandInLLM:
    """An OpenAI-compatible chat completions endpoint on 127.0.0.1, for tests only.

    Answers ``stand-in reply to: <last user message>``; a last user message containing
    ``FAIL-500`` gets a 500; a wrong API key gets a 401.
    """

    api_key = "test-key"

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if self.path != "/v1/chat/completions":
                    self._reply(404, {"error": {"message": "not found"}})
                    return
                if self.headers.get("Authorization") != f"Bearer {outer.api_key}":
                    self._reply(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
                    return
                users = [m["content"] for m in body.get("messages", []) if m.get("role") == "user"]
                last = users[-1] if users else ""
                if "FAIL-500" in last:
                    self._reply(500, {"error": {"message": "the stand-in fails on purpose"}})
                    return
                self._reply(
                    200,
                    {
                        "id": f"chatcmpl-{len(outer.requests)}",
                        "object": "chat.completion",
                        "model": body.get("model", "stand-in"),
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": f"stand-in reply to: {last}"}, "finish_reason": "stop"}
                        ],
                        "usage": {"prompt_tokens": len(last.split()), "completion_tokens": 4, "total_tokens": len(last.split()) + 4},
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """What ``OPENAI_BASE_URL`` is set to."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def env(self, model: str = "stand-in-model") -> dict[str, str]:
        """The environment the examples read their endpoint from."""
        return {
            "OPENAI_BASE_URL": self.base_url,
            "OPENAI_API_KEY": self.api_key,
            "OPENAI_MODEL": model,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }


@pytest.fixture
def llm() -> Iterator[StandInLLM]:
    """A running stand-in LLM endpoint (see :class:`StandInLLM`)."""
    stand_in = StandInLLM()
    stand_in.thread.start()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


@pytest.fixture
def node(start_node: StartNode) -> NodeProcess:
    """One running node."""
    return start_node("a")


@pytest.fixture
def pair(start_node: StartNode) -> tuple[NodeProcess, NodeProcess]:
    """Two connected nodes."""
    a = start_node("a")
    b = start_node("b", peers=[a.mesh_address])
    wait_connected(a, b)
    return a, b
