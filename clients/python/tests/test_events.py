"""The event stream (``GET /v1/events``) survives a dropped connection: it reconnects with
``Last-Event-ID`` and nothing is lost or repeated.

The client reaches the node through a small TCP proxy on 127.0.0.1 written here, which
can cut every connection at once (a forced disconnect) or stop accepting (the node gone).
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Callable

import pytest

import plexus
from plexus.testing import NodeProcess


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to the node; ``cut()`` aborts every open connection."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self._sent: list[bytearray] = []
        self._pairs: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> CuttableProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self._pairs.append((writer, upstream_writer))
        sent = bytearray()
        self._sent.append(sent)

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, record: bool) -> None:
            try:
                while data := await source.read(65536):
                    if record:
                        sent.extend(data)
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pump(reader, upstream_writer, True), pump(upstream_reader, writer, False))

    @property
    def requests(self) -> list[bytes]:
        """The head of every request sent through the proxy, in order."""
        heads: list[bytes] = []
        for sent in self._sent:
            heads += re.findall(rb"(?:GET|POST|PUT|DELETE) [^\r]* HTTP/1\.1\r\n.*?\r\n\r\n", bytes(sent), re.S)
        return heads

    def cut(self) -> None:
        for client_side, node_side in self._pairs:
            client_side.transport.abort()
            node_side.transport.abort()
        self._pairs.clear()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self.cut()  # before wait_closed: since Python 3.12 it waits for open connections
            await self._server.wait_closed()
        self.cut()

    def event_requests(self) -> list[bytes]:
        return [r for r in self.requests if r.startswith(b"GET /v1/events")]


async def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Polls ``check`` until true, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.mark.anyio
async def test_events_resume_with_last_event_id_after_a_forced_disconnect(node: NodeProcess) -> None:
    proxy = await CuttableProxy(node.api_address).start()
    received: list[plexus.ServerEvent] = []
    direct = await plexus.connect_async(data=node.data_dir)
    via_proxy = await plexus.connect_async(url=proxy.url, token=node.token)
    before = await direct.publish({"text": "before the stream: not delivered"}, topic="ev")
    stream = via_proxy.events(topic="ev", backoff=0.05, heartbeat_ms=500)

    async def consume() -> None:
        async for event in stream:
            received.append(event)

    consumer = asyncio.ensure_future(consume())
    try:
        await eventually(lambda: len(proxy.event_requests()) == 1, 10, "the stream to connect")
        published = [await direct.publish({"text": f"first {i}"}, topic="ev") for i in range(3)]
        await eventually(lambda: len(received) == 3, 10, "the first three events")

        proxy.cut()  # forced disconnect; entries published meanwhile must still arrive
        published += [await direct.publish({"text": f"during {i}"}, topic="ev") for i in range(3)]
        await eventually(lambda: len(proxy.event_requests()) == 2, 10, "the stream to reconnect")
        published += [await direct.publish({"text": f"after {i}"}, topic="ev") for i in range(3)]
        # A last entry: the stream is in order, so once it arrived a duplicate would be before it.
        published.append(await direct.publish({"text": "sentinel"}, topic="ev"))
        await eventually(lambda: any(e.entry.text == "sentinel" for e in received), 10, "the sentinel")
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        await stream.aclose()
        await via_proxy.aclose()
        await direct.aclose()
        await proxy.close()

    assert [e.entry.id for e in received] == [e.id for e in published]
    assert [e.cursor for e in received] == [e.cursor for e in published]
    assert before.id not in {e.entry.id for e in received}
    assert all(e.event == "entry" for e in received)
    assert stream.reconnects == 1
    assert stream.last_event_id == str(published[-1].cursor)
    # The second connection resumed after the third event, by Last-Event-ID.
    resumed = re.search(rb"(?i)last-event-id: *([0-9]+)", proxy.event_requests()[1])
    assert resumed is not None and int(resumed.group(1)) == published[2].cursor


@pytest.mark.anyio
async def test_events_give_up_after_bounded_retries(node: NodeProcess) -> None:
    proxy = await CuttableProxy(node.api_address).start()
    client = await plexus.connect_async(url=proxy.url, token=node.token)
    stream = client.events(since=0, max_retries=2, backoff=0.01, max_backoff=0.05)
    try:
        await client.publish({"text": "one"})
        first = await asyncio.wait_for(stream.__anext__(), 10)
        assert first.entry.text == "one"
        await proxy.close()  # the node is gone for this client: every reconnect fails
        with pytest.raises(plexus.NodeNotRunning):
            await asyncio.wait_for(stream.__anext__(), 10)
    finally:
        await stream.aclose()
        await client.aclose()


@pytest.mark.anyio
async def test_events_from_a_cursor_replay_history(node: NodeProcess) -> None:
    async with await plexus.connect_async(data=node.data_dir) as client:
        entries = [await client.publish({"text": f"h{i}"}, topic="hist") for i in range(4)]
        async with client.events(topic="hist", since=entries[0].cursor) as stream:
            got = [await asyncio.wait_for(stream.__anext__(), 10) for _ in range(3)]
        assert [e.entry.id for e in got] == [e.id for e in entries[1:]]
