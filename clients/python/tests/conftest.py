"""Fixtures: real ``plexus serve`` processes on temporary data directories.

The binary is ``$PLEXUS_BINARY``, else ``.build/debug/plexus`` of this repository. Every
node a test starts listens on 127.0.0.1 only and is stopped when the test ends (SIGTERM,
then SIGKILL), also when it fails; a failed test prints the tail of each node's log.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from plexus.pytest_fixtures import StartNode, pytest_runtest_makereport, start_node, wait_connected  # noqa: F401 (fixtures and hook)
from plexus.testing import NodeProcess, find_binary

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (through the anyio pytest plugin)."""
    return "asyncio"


@pytest.fixture(scope="session")
def plexus_binary() -> Path:
    """The ``plexus`` binary under test."""
    return find_binary(os.environ.get("PLEXUS_BINARY") or REPO / ".build" / "debug" / "plexus")


@pytest.fixture
def node(start_node: StartNode) -> NodeProcess:
    """One running node."""
    return start_node("a")


@pytest.fixture
def pair(start_node: StartNode) -> tuple[NodeProcess, NodeProcess]:
    """Two nodes connected over the mesh: ``b`` dialled ``a``."""
    a = start_node("a")
    b = start_node("b", peers=[a.mesh_address])
    wait_connected(a, b)
    return a, b
