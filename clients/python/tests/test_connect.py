"""Connecting: from a data directory (as the CLI does), from ``$PLEXUS_HOME``, by URL and
token; and the typed errors when nothing runs there or the token is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

import plexus
from plexus.testing import NodeProcess


def test_connect_from_data_directory_reads_api_addr_and_token(node: NodeProcess) -> None:
    with plexus.connect(data=node.data_dir) as client:
        assert client.url == f"http://{(node.data_dir / 'api.addr').read_text().strip()}"
        identity = client.identity()
        assert identity.agent_id == node.agent_id
        assert client.health() == {"status": "ok"}


def test_connect_defaults_to_plexus_home(node: NodeProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEXUS_HOME", str(node.data_dir))
    with plexus.connect() as client:
        assert client.status().data_dir == str(node.data_dir)


def test_connect_with_url_and_token(node: NodeProcess) -> None:
    with plexus.connect(url=node.url, token=node.token) as client:
        assert client.status().agent_id == node.agent_id
    with plexus.Client(node.api_address, node.token) as client:  # host:port works too
        assert client.identity().agent_id == node.agent_id


@pytest.mark.anyio
async def test_async_connect_from_data_directory(node: NodeProcess) -> None:
    async with await plexus.AsyncClient.connect(data=node.data_dir) as client:
        status = await client.status()
        assert status.agent_id == node.agent_id
    async with await plexus.connect_async(data=node.data_dir) as client:
        assert (await client.identity()).agent_id == node.agent_id


def test_no_node_on_the_data_directory_is_node_not_running(tmp_path: Path) -> None:
    with pytest.raises(plexus.NodeNotRunning) as raised:
        plexus.connect(data=tmp_path / "nothing-here")
    assert raised.value.code == "nodeNotRunning"


def test_stopped_node_is_node_not_running(node: NodeProcess) -> None:
    address, token = node.url, node.token
    node.stop()
    with pytest.raises(plexus.NodeNotRunning):
        plexus.connect(url=address, token=token)


def test_missing_token_is_no_identity(tmp_path: Path) -> None:
    (tmp_path / "api.addr").write_text("127.0.0.1:9\n")
    with pytest.raises(plexus.NoIdentity):
        plexus.connect(data=tmp_path)


def test_wrong_token_is_unauthorized_401(node: NodeProcess) -> None:
    with plexus.connect(url=node.url, token="not-the-token") as client:
        assert client.health() == {"status": "ok"}  # health needs no token
        with pytest.raises(plexus.Unauthorized) as raised:
            client.status()
    assert raised.value.status == 401
    assert raised.value.code == "unauthorized"
    assert isinstance(raised.value, plexus.PlexusError)


@pytest.mark.anyio
async def test_wrong_token_on_the_event_stream_is_unauthorized_at_once(node: NodeProcess) -> None:
    async with plexus.AsyncClient(node.url, "not-the-token") as client:
        stream = client.events(since=0, max_retries=5)
        with pytest.raises(plexus.Unauthorized):
            await stream.__anext__()
        assert stream.reconnects == 0
