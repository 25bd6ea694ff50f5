"""Server-sent event streams (``GET /v1/events``, ``GET /v1/dms/events``) that survive drops.

The node numbers every event (``id:`` is the entry's cursor, or the message's seq) and
continues exactly after the one named in ``Last-Event-ID``, with no gap and no duplicate.
:class:`EventStream` remembers the last id it yielded and, when the connection drops
(the node restarts, a proxy cuts it, the network hiccups), connects again with that id,
waiting a little longer after each failure in a row, and gives up after ``max_retries``
failed attempts in a row. An event received resets the count.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, Mapping

import httpx
from httpx_sse import SSEError, aconnect_sse

from .errors import NodeNotRunning, Overloaded, PlexusError, error_for
from .models import ServerEvent

if TYPE_CHECKING:
    from ._client import AsyncClient

__all__ = ["EventStream"]

logger = logging.getLogger("plexus.events")


class EventStream:
    """An async iterator of :class:`~plexus.models.ServerEvent` that reconnects and resumes.

    Use it with ``async for`` (and ``async with`` to close it deterministically)::

        async with client.events(topic="research") as stream:
            async for event in stream:
                print(event.entry.content)

    Attributes:
        last_event_id: the id of the last event yielded (where a reconnect resumes).
        reconnects: how many times the stream connected again after a drop.
    """

    def __init__(
        self,
        client: AsyncClient,
        route: str,
        *,
        params: Mapping[str, Any],
        last_event_id: str | None,
        start: Callable[[], Awaitable[str | None]] | None,
        heartbeat_ms: int | None,
        max_retries: int,
        backoff: float,
        max_backoff: float,
    ) -> None:
        self._client = client
        self._route = route
        self._params = {k: v for k, v in params.items() if v is not None}
        if heartbeat_ms is not None:
            self._params["heartbeat_ms"] = heartbeat_ms
        self._start = start
        self._max_retries = max_retries
        self._backoff = backoff
        self._max_backoff = max_backoff
        # The node sends a keepalive comment every heartbeat; a connection silent for three
        # of them is dead.
        self._read_timeout = 3 * (heartbeat_ms or 15_000) / 1000 + 5
        self.last_event_id: str | None = last_event_id
        self.reconnects = 0
        self._connections = 0
        self._events: AsyncIterator[ServerEvent] | None = None
        self._closed = False

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> ServerEvent:
        if self._closed:
            raise StopAsyncIteration
        if self._events is None:
            self._events = self._run()
        return await self._events.__anext__()

    async def aclose(self) -> None:
        """Closes the connection; the iterator ends."""
        self._closed = True
        if self._events is not None:
            closer = getattr(self._events, "aclose", None)
            if closer is not None:
                await closer()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _run(self) -> AsyncIterator[ServerEvent]:
        if self.last_event_id is None and self._start is not None:
            # Pin "from now" to a cursor, so a drop before the first event loses nothing.
            self.last_event_id = await self._start()
        failures = 0
        while True:
            headers = {"Last-Event-ID": self.last_event_id} if self.last_event_id is not None else {}
            reason: str
            try:
                async with aconnect_sse(
                    self._client._http,
                    "GET",
                    self._client._url(self._route, None),
                    params=self._params,
                    headers=headers,
                    timeout=httpx.Timeout(10.0, read=self._read_timeout),
                ) as source:
                    response = source.response
                    if response.status_code != 200:
                        await response.aread()
                        error = self._client._failure(response)
                        if not isinstance(error, Overloaded):
                            raise error
                        reason = str(error)
                    else:
                        if self._connections > 0:
                            self.reconnects += 1
                        self._connections += 1
                        async for sse in source.aiter_sse():
                            if sse.event == "error":
                                raise _stream_error(sse.data)
                            if not sse.data and not sse.id:
                                continue
                            if sse.id:
                                self.last_event_id = sse.id
                            failures = 0
                            yield ServerEvent(
                                event=sse.event or "message",
                                id=sse.id or "",
                                data=sse.data,
                                retry=sse.retry,
                                raw={"event": sse.event, "id": sse.id, "data": sse.data},
                            )
                        reason = "the node closed the stream"
            except (httpx.TransportError, SSEError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            failures += 1
            if failures > self._max_retries:
                raise NodeNotRunning(
                    f"event stream from {self._client.url} failed {failures} times in a row ({reason})"
                )
            delay = min(self._max_backoff, self._backoff * 2 ** (failures - 1))
            logger.info("event stream dropped (%s); resuming after %s in %.2f s", reason, self.last_event_id, delay)
            await asyncio.sleep(delay)


def _stream_error(data: str) -> PlexusError:
    """The error an ``error`` event carries: the node ends a stream with ``code: message``."""
    code, sep, message = data.partition(": ")
    if sep and code.isalnum():
        return error_for(code, message)
    return error_for("internal", data)
