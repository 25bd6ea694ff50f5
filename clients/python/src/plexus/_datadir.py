"""Finding a node from its data directory, as the ``plexus`` CLI does.

A running ``plexus serve`` writes the bound API address to ``api.addr`` in its data
directory and keeps the bearer token in ``api.token``. The data directory is the one
given, else ``$PLEXUS_HOME``, else ``~/.plexus`` (the CLI's ``--data`` rule).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import NodeNotRunning, NoIdentity

__all__ = ["NodeAddress", "resolve_data_dir", "read_data_dir", "API_ADDR_FILE", "API_TOKEN_FILE"]

#: Written by a running node: the HTTP API's bound ``host:port``.
API_ADDR_FILE = "api.addr"
#: The API's bearer token (mode 0600).
API_TOKEN_FILE = "api.token"


@dataclass(frozen=True)
class NodeAddress:
    """Where a node's API is and the token it takes."""

    url: str
    token: str


def resolve_data_dir(data: str | os.PathLike[str] | None = None) -> Path:
    """``data``, else ``$PLEXUS_HOME``, else ``~/.plexus`` (``~`` expanded)."""
    if data is not None and str(data) != "":
        return Path(data).expanduser()
    home = os.environ.get("PLEXUS_HOME")
    if home:
        return Path(home).expanduser()
    return Path("~/.plexus").expanduser()


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None


def read_data_dir(data: str | os.PathLike[str] | None = None) -> NodeAddress:
    """The API URL and token of the node running on a data directory.

    Raises:
        NodeNotRunning: no ``api.addr`` (no node has run there, or it stopped cleanly).
        NoIdentity: no ``api.token`` (the directory was never initialised).
    """
    root = resolve_data_dir(data)
    address = _read(root / API_ADDR_FILE)
    if not address:
        raise NodeNotRunning(f"no node is running for {root} (no {API_ADDR_FILE}): start one with 'plexus serve'")
    token = _read(root / API_TOKEN_FILE)
    if not token:
        raise NoIdentity(f"no API token in {root}: run 'plexus init' or 'plexus serve' first")
    url = address if "://" in address else f"http://{address}"
    return NodeAddress(url=url, token=token)
