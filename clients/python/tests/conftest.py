"""Fixtures: real ``plexus serve`` processes on temporary data directories.

The binary is ``$PLEXUS_BINARY``, else ``.build/debug/plexus`` of this repository. Every
node a test starts listens on 127.0.0.1 only and is stopped when the test ends (SIGTERM,
then SIGKILL), also when it fails; a failed test prints the tail of each node's log.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Generator, Iterator

import pytest

from plexus.testing import NodeProcess, find_binary, unblock_stop_signals, wait_until

unblock_stop_signals()

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (through the anyio pytest plugin)."""
    return "asyncio"


@pytest.fixture(scope="session")
def plexus_binary() -> Path:
    """The ``plexus`` binary under test."""
    return find_binary(os.environ.get("PLEXUS_BINARY") or REPO / ".build" / "debug" / "plexus")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


StartNode = Callable[..., NodeProcess]


@pytest.fixture
def start_node(tmp_path: Path, plexus_binary: Path, request: pytest.FixtureRequest) -> Iterator[StartNode]:
    """``start_node("a", peers=[...], config=..., env=...)``: a running node, stopped after the test."""
    started: list[NodeProcess] = []

    def start(name: str = "node", **kwargs: Any) -> NodeProcess:
        node = NodeProcess(tmp_path / name, binary=plexus_binary, **kwargs)
        started.append(node)
        return node.start()

    yield start
    failed = any(getattr(getattr(request.node, f"report_{when}", None), "failed", False) for when in ("setup", "call"))
    for node in reversed(started):
        node.stop()
        if failed:
            print(f"--- log of {node.data_dir.name} ---\n{node.log_tail(60)}")


@pytest.fixture
def node(start_node: StartNode) -> NodeProcess:
    """One running node."""
    return start_node("a")


def connected(a: NodeProcess, b: NodeProcess, timeout: float = 15.0) -> None:
    """Waits until each of two nodes lists the other as a connected peer."""
    ids = {a: b.agent_id, b: a.agent_id}
    with a.client() as ca, b.client() as cb:
        for client, other in ((ca, ids[a]), (cb, ids[b])):
            wait_until(
                lambda: any(p.agent_id == other and p.state == "connected" for p in client.peers()),
                timeout=timeout,
                what="the mesh connection",
            )


@pytest.fixture
def pair(start_node: StartNode) -> tuple[NodeProcess, NodeProcess]:
    """Two nodes connected over the mesh: ``b`` dialled ``a``."""
    a = start_node("a")
    b = start_node("b", peers=[a.mesh_address])
    connected(a, b)
    return a, b
