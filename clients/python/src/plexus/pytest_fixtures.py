"""pytest fixtures of real ``plexus serve`` nodes, shared by the SDK's tests and the examples'.

A ``conftest.py`` imports them by name (``from plexus.pytest_fixtures import start_node,
…``) and defines a ``plexus_binary`` fixture naming the binary under test. Every node a
test starts is stopped when the test ends (SIGTERM, then SIGKILL), also when it fails; a
failed test prints the tail of each node's log. Importing this module unblocks SIGTERM and
SIGINT (see :func:`plexus.testing.unblock_stop_signals`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Generator, Iterator

import pytest

from plexus.testing import NodeProcess, unblock_stop_signals, wait_until

unblock_stop_signals()

StartNode = Callable[..., NodeProcess]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    """Keeps each phase's report on the test item, so fixtures can tell a failed test."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


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


def wait_connected(a: NodeProcess, b: NodeProcess, timeout: float = 15.0) -> None:
    """Until each of two nodes lists the other as a connected peer."""
    for node, other in ((a, b.agent_id), (b, a.agent_id)):
        with node.client() as client:
            wait_until(
                lambda: any(p.agent_id == other and p.state == "connected" for p in client.peers()),
                timeout=timeout,
                what="the mesh connection",
            )
