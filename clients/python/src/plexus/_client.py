"""The asynchronous client of a Plexus node's local HTTP API.

Every method maps to one route of the node's OpenAPI document and returns the typed view
of the envelope's ``data`` (see :mod:`plexus.models`); every failure raises the
:mod:`plexus.errors` class of its code. Routes are written only as the literal method and
path template of the ``_send``/``_stream``/``_sse`` call in the method that uses them: the
test suite reads them from this file and checks each against the document.
"""

from __future__ import annotations

import asyncio
import base64
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterable, Mapping, Sequence, TypeVar
from urllib.parse import quote

import httpx

from ._datadir import read_data_dir
from ._events import EventStream
from ._worker import Registration, TaskHandler, Worker
from .errors import NodeNotRunning, PlexusError, Timeout, error_for
from .models import (
    Agent,
    Blob,
    BlobList,
    Board,
    BoardTask,
    Contact,
    Context,
    Conversation,
    Deletion,
    DirectMessage,
    DirectPage,
    Entry,
    EntryPage,
    Follows,
    Fork,
    Goods,
    Group,
    Identity,
    Ledger,
    LedgerAccount,
    Model,
    Offer,
    OfferList,
    PanelLogin,
    Peer,
    PeerRemoval,
    Posting,
    Presence,
    Purchase,
    RetentionPolicy,
    RetentionPolicyList,
    RetentionRun,
    SearchResults,
    Status,
    SubmitEntryResult,
    SyncSession,
    TaskView,
    Topic,
)

__all__ = ["AsyncClient", "connect_async", "DEFAULT_TIMEOUT"]

M = TypeVar("M", bound=Model)
H = TypeVar("H", bound=TaskHandler)

#: Seconds a request may take before :class:`~plexus.errors.Timeout` (long polls add their wait).
DEFAULT_TIMEOUT = 30.0

_NO_BODY: Any = object()

#: A byte range of a blob: ``(first, last)`` inclusive; ``last`` ``None`` for "to the end".
ByteRange = tuple[int, "int | None"]


def _segment(value: str) -> str:
    """A path segment: RFC 3986 unreserved characters and ``:`` stay, the rest is escaped."""
    return quote(str(value), safe="-._~:")


def _query(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Query parameters without the ``None`` ones; booleans as ``true``/``false``."""
    out: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def _body(**fields: Any) -> dict[str, Any]:
    """A JSON body without the ``None`` fields."""
    return {key: value for key, value in fields.items() if value is not None}


def _models(cls: type[M], data: Any) -> list[M]:
    return [cls.from_json(item) for item in data]


class AsyncClient:
    """An asyncio client of one node's API.

    Make one with :meth:`connect` (from a data directory, like the ``plexus`` CLI) or
    directly with the API's URL and token; close it with :meth:`aclose` or ``async with``.

    >>> async with await plexus.connect_async(data="~/.plexus") as client:
    ...     entry = await client.publish({"text": "hello"}, topic="research")

    Attributes:
        url: the API's base URL (``http://127.0.0.1:7464``).
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """A client of the API at ``url`` (``http://host:port`` or ``host:port``) with ``token``."""
        if "://" not in url:
            url = f"http://{url}"
        self.url = url.rstrip("/")
        self._timeout = timeout
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # trust_env=False: the node is on loopback; a proxy from the environment must not see it.
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=headers, timeout=timeout, trust_env=False, transport=transport
        )
        self._registrations: dict[str, Registration] = {}
        self._worker: Worker | None = None

    # MARK: - Connecting

    @classmethod
    async def connect(
        cls,
        data: str | os.PathLike[str] | None = None,
        *,
        url: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        check: bool = True,
    ) -> AsyncClient:
        """A client of a running node.

        With ``url`` (and ``token``), that API; otherwise the node of the data directory
        ``data`` (else ``$PLEXUS_HOME``, else ``~/.plexus``): its ``api.addr`` and
        ``api.token``. With ``check`` (the default) the node must answer ``/v1/health``.

        Raises:
            NodeNotRunning: no node runs there (no ``api.addr``, or nothing answers).
            NoIdentity: the data directory has no API token.
        """
        if url is None:
            address = read_data_dir(data)
            url, token = address.url, token or address.token
        elif token is None and data is not None:
            token = read_data_dir(data).token
        client = cls(url, token, timeout=timeout)
        if check:
            try:
                await client.health(timeout=min(timeout, 5.0))
            except BaseException:
                await client.aclose()
                raise
        return client

    async def aclose(self) -> None:
        """Closes the connections (stops a running worker at once first)."""
        self.stop(now=True)
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncClient(url={self.url!r})"

    # MARK: - Transport

    def _url(self, route: str, path: Mapping[str, str] | None) -> str:
        return route.format(**{key: _segment(value) for key, value in (path or {}).items()})

    def _failure(self, response: httpx.Response) -> PlexusError:
        """The error of a failed reply's envelope."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            error = body["error"]
            return error_for(str(error.get("code", "internal")), str(error.get("message", "request failed")), response.status_code)
        text = response.text[:200] if response.content else ""
        return error_for("internal", f"unexpected reply ({response.status_code}) from {self.url}: {text}", response.status_code)

    def _transport_error(self, error: httpx.TransportError, what: str) -> PlexusError:
        if isinstance(error, httpx.TimeoutException) and not isinstance(error, httpx.ConnectTimeout):
            return Timeout(f"the node at {self.url} did not answer {what} in time ({type(error).__name__})")
        return NodeNotRunning(f"cannot reach the node at {self.url}: is 'plexus serve' running? ({type(error).__name__}: {error})")

    def _wait_timeout(self, wait_ms: int | None) -> float | None:
        """The request timeout for a call that waits up to ``wait_ms`` on the node."""
        return None if not wait_ms else max(self._timeout, wait_ms / 1000 + 10)

    async def _send(
        self,
        method: str,
        route: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = _NO_BODY,
        content: bytes | AsyncIterator[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """One request; the envelope's ``data``, or the error of its code."""
        request_headers = dict(headers or {})
        kwargs: dict[str, Any] = {}
        if json is not _NO_BODY:
            kwargs["json"] = json
        elif content is not None:
            kwargs["content"] = content
        try:
            response = await self._http.request(
                method,
                self._url(route, path),
                params=_query(params),
                headers=request_headers,
                timeout=timeout if timeout is not None else self._timeout,
                **kwargs,
            )
        except httpx.TransportError as error:
            raise self._transport_error(error, f"{method} {route}") from error
        try:
            body = response.json()
        except ValueError:
            raise self._failure(response) from None
        if isinstance(body, dict) and body.get("ok") is True:
            return body.get("data")
        raise self._failure(response)

    @asynccontextmanager
    async def _stream(
        self,
        method: str,
        route: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """A streamed response with a 2xx status (else its error)."""
        try:
            async with self._http.stream(
                method,
                self._url(route, path),
                params=_query(params),
                headers=dict(headers or {}),
                timeout=httpx.Timeout(self._timeout),
            ) as response:
                if response.status_code >= 300:
                    await response.aread()
                    raise self._failure(response)
                yield response
        except httpx.TransportError as error:
            raise self._transport_error(error, f"{method} {route}") from error

    def _sse(
        self,
        method: str,
        route: str,
        *,
        params: Mapping[str, Any],
        last_event_id: str | int | None,
        start: Callable[[], Any] | None,
        heartbeat_ms: int | None,
        max_retries: int,
        backoff: float,
        max_backoff: float,
    ) -> EventStream:
        assert method == "GET"
        return EventStream(
            self,
            route,
            params=params,
            last_event_id=None if last_event_id is None else str(last_event_id),
            start=start,
            heartbeat_ms=heartbeat_ms,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
        )

    # MARK: - Node

    async def health(self, *, timeout: float | None = None) -> dict[str, Any]:
        """Liveness (no token needed): ``{"status": "ok"}``."""
        data = await self._send("GET", "/v1/health", timeout=timeout)
        return dict(data or {})

    async def status(self) -> Status:
        """The node's status and store counts."""
        return Status.from_json(await self._send("GET", "/v1/status"))

    async def identity(self) -> Identity:
        """The node's agent id and public key."""
        return Identity.from_json(await self._send("GET", "/v1/identity"))

    async def agent_id(self) -> str:
        """This node's agent id (base32)."""
        identity = await self.identity()
        return identity.agent_id or ""

    async def metrics(self) -> str:
        """The Prometheus text exposition of ``GET /metrics``."""
        async with self._stream("GET", "/metrics") as response:
            await response.aread()
            return response.text

    async def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document the node serves."""
        async with self._stream("GET", "/openapi.json") as response:
            await response.aread()
            document: dict[str, Any] = response.json()
            return document

    async def panel_login(self, *, ttl_ms: int | None = None) -> PanelLogin:
        """A one-time login link for the node's web panel (``path`` below the API's URL)."""
        return PanelLogin.from_json(await self._send("POST", "/v1/ui/login", json=_body(ttl_ms=ttl_ms)))

    # MARK: - Entries

    async def publish(
        self,
        content: Mapping[str, Any],
        *,
        type: str | None = None,
        topic: str | None = None,
        tags: Sequence[str] | None = None,
        refs: Sequence[str] | None = None,
        expires_ms: int | None = None,
        expires_at: str | None = None,
        ttl_s: int | None = None,
    ) -> Entry:
        """Signs and stores an entry (durable when this returns) and spreads it in its topic.

        Args:
            content: a JSON object (e.g. ``{"text": "..."}``).
            type: the entry type (default ``insight``).
            topic: the topic (default: the ``mesh`` topic).
            tags: up to 32 tags.
            refs: ids of entries it refers to (a reply names its question).
            expires_ms / expires_at / ttl_s: an expiry, given at most one way.
        """
        body = _body(
            content=dict(content),
            type=type,
            topic=topic,
            tags=list(tags) if tags is not None else None,
            refs=list(refs) if refs is not None else None,
            expires_ms=expires_ms,
            expires_at=expires_at,
            ttl_s=ttl_s,
        )
        return Entry.from_json(await self._send("POST", "/v1/publish", json=body))

    async def publish_batch(self, entries: Sequence[Mapping[str, Any]]) -> list[Entry]:
        """Signs and stores several entries in one durable transaction: all, in order, or none.

        Each item has the fields of :meth:`publish` as a mapping (``{"content": {...},
        "topic": ..., "tags": [...]}``); up to 512 per call. Much faster than one
        :meth:`publish` per entry for bulk writes. An invalid item raises the error of a
        single publish, its message naming the item (``entries[3]: ...``), and stores nothing.
        """
        return _models(Entry, await self._send("POST", "/v1/publish/batch", json={"entries": [dict(item) for item in entries]}))

    async def feed(
        self,
        *,
        author: str | None = None,
        topic: str | None = None,
        type: str | None = None,
        tag: str | None = None,
        ref: str | None = None,
        since: int | None = None,
        before: int | None = None,
        limit: int | None = None,
        wait_ms: int | None = None,
    ) -> EntryPage:
        """One page of entries.

        Without ``since``: newest first (continue with ``before=page.next_cursor`` until it
        is ``None``). With ``since``: oldest first after that cursor (continue with
        ``since=page.next_cursor``), and ``wait_ms`` (≤ 60000) long-polls for new entries.
        """
        params = dict(author=author, topic=topic, type=type, tag=tag, ref=ref, since=since, before=before, limit=limit, wait_ms=wait_ms)
        data = await self._send("GET", "/v1/feed", params=params, timeout=self._wait_timeout(wait_ms))
        return EntryPage.from_json(data)

    async def iter_feed(
        self,
        *,
        author: str | None = None,
        topic: str | None = None,
        type: str | None = None,
        tag: str | None = None,
        ref: str | None = None,
        since: int | None = None,
        newest_first: bool = False,
        page_size: int = 200,
        follow: bool = False,
        wait_ms: int = 30_000,
    ) -> AsyncIterator[Entry]:
        """Every matching entry, page by page.

        Oldest first after ``since`` (default: from the beginning); with ``follow`` it keeps
        long-polling for entries as they arrive and never ends. With ``newest_first``, from
        the newest back to the oldest (``since`` and ``follow`` do not apply).
        """
        if newest_first:
            before: int | None = None
            while True:
                page = await self.feed(author=author, topic=topic, type=type, tag=tag, ref=ref, before=before, limit=page_size)
                for entry in page.entries:
                    yield entry
                if page.next_cursor is None or not page.entries:
                    return
                before = page.next_cursor
        cursor = since or 0
        while True:
            page = await self.feed(
                author=author, topic=topic, type=type, tag=tag, ref=ref, since=cursor, limit=page_size,
                wait_ms=wait_ms if follow else None,
            )
            for entry in page.entries:
                yield entry
            if page.next_cursor is not None:
                cursor = page.next_cursor
            if not page.has_more and not follow:
                return

    async def entry(self, entry_id: str) -> Entry:
        """One entry by id (``NotFound`` when not held, deleted or expired)."""
        return Entry.from_json(await self._send("GET", "/v1/entries/{id}", path={"id": entry_id}))

    async def thread(self, entry_id: str, *, limit: int | None = None) -> EntryPage:
        """An entry and every entry referencing it, transitively."""
        data = await self._send("GET", "/v1/entries/{id}/thread", path={"id": entry_id}, params={"limit": limit})
        return EntryPage.from_json(data)

    async def search(
        self,
        q: str,
        *,
        author: str | None = None,
        topic: str | None = None,
        type: str | None = None,
        tag: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> SearchResults:
        """Full-text search (BM25), best first: all words must match; ``word*`` is a prefix; ``a OR b``."""
        params = dict(q=q, author=author, topic=topic, type=type, tag=tag, limit=limit, offset=offset)
        return SearchResults.from_json(await self._send("GET", "/v1/search", params=params))

    async def submit_entry(self, entry: bytes | str) -> SubmitEntryResult:
        """Stores an entry signed elsewhere (protobuf ``Entry`` bytes, or their base64)."""
        encoded = base64.b64encode(entry).decode("ascii") if isinstance(entry, (bytes, bytearray)) else entry
        return SubmitEntryResult.from_json(await self._send("POST", "/v1/entries", json={"entry": encoded}))

    async def delete_entries(self, ids: Iterable[str]) -> Deletion:
        """Deletes entries of this node's own feed (``Forbidden`` for another author's)."""
        return Deletion.from_json(await self._send("POST", "/v1/deletions", json={"ids": list(ids)}))

    async def delete_entry(self, entry_id: str) -> Deletion:
        """Deletes one entry of this node's own feed."""
        return Deletion.from_json(await self._send("DELETE", "/v1/entries/{id}", path={"id": entry_id}))

    async def forks(self, *, limit: int | None = None) -> list[Fork]:
        """Proven forks: authors that signed two incompatible histories."""
        return _models(Fork, await self._send("GET", "/v1/forks", params={"limit": limit}))

    # MARK: - Events

    def events(
        self,
        *,
        author: str | None = None,
        topic: str | None = None,
        type: str | None = None,
        tag: str | None = None,
        group: str | None = None,
        since: int | None = None,
        last_event_id: str | int | None = None,
        heartbeat_ms: int | None = None,
        max_retries: int = 8,
        backoff: float = 0.25,
        max_backoff: float = 10.0,
    ) -> EventStream:
        """Entries as they are stored here (``GET /v1/events``), as server-sent events.

        From now on, or after cursor ``since`` / event ``last_event_id``. When the
        connection drops it reconnects with ``Last-Event-ID`` (no gap, no duplicate),
        backing off from ``backoff`` to ``max_backoff`` seconds, and raises
        ``NodeNotRunning`` after ``max_retries`` failures in a row.
        """
        start = None
        if since is None and last_event_id is None and group is None:

            async def start_here() -> str | None:
                status = await self.status()
                cursor = status.store.latest_cursor if status.store else None
                return None if cursor is None else str(cursor)

            start = start_here
        params = dict(author=author, topic=topic, type=type, tag=tag, group=group, since=since)
        return self._sse(
            "GET",
            "/v1/events",
            params=params,
            last_event_id=last_event_id,
            start=start,
            heartbeat_ms=heartbeat_ms,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
        )

    # MARK: - Mesh and replication

    async def peers(self) -> list[Peer]:
        """Connected mesh peers, then remembered ones not connected now."""
        return _models(Peer, await self._send("GET", "/v1/peers"))

    async def connect_peer(self, address: str, *, id: str | None = None) -> Peer:
        """Dials a peer (``host:port``) now and remembers it (``PeerUnreachable``, ``HandshakeFailed``)."""
        return Peer.from_json(await self._send("POST", "/v1/peers", json=_body(address=address, id=id), timeout=max(self._timeout, 40)))

    async def remove_peer(self, peer: str) -> PeerRemoval:
        """Disconnects and forgets a peer, by agent id or ``host:port``."""
        return PeerRemoval.from_json(await self._send("DELETE", "/v1/peers/{peer}", path={"peer": peer}))

    async def topics(self) -> list[Topic]:
        """The topics this node is in."""
        return _models(Topic, await self._send("GET", "/v1/topics"))

    async def subscribe(self, topic: str) -> list[Topic]:
        """Joins a topic (its history follows by anti-entropy); the topics after."""
        return _models(Topic, await self._send("POST", "/v1/topics", json={"topic": topic}))

    async def unsubscribe(self, topic: str) -> list[Topic]:
        """Leaves a topic (entries stay); the topics after."""
        return _models(Topic, await self._send("DELETE", "/v1/topics/{topic}", path={"topic": topic}))

    async def follows(self) -> Follows:
        """The followed authors (none: every author is stored)."""
        return Follows.from_json(await self._send("GET", "/v1/follows"))

    async def follow(self, author: str) -> Follows:
        """Stores only followed authors (and this agent); adds ``author``."""
        return Follows.from_json(await self._send("POST", "/v1/follows", json={"author": author}))

    async def unfollow(self, author: str) -> Follows:
        """Stops following ``author`` (``NotFound`` when not followed)."""
        return Follows.from_json(await self._send("DELETE", "/v1/follows/{author}", path={"author": author}))

    async def sync_status(self) -> list[SyncSession]:
        """Anti-entropy per neighbour and topic."""
        return _models(SyncSession, await self._send("GET", "/v1/sync"))

    # MARK: - Directory

    async def agents(self, *, capability: str | None = None, user: str | None = None, label: str | None = None) -> list[Agent]:
        """The agent directory, filtered by capability, user or label (``key`` or ``key=value``)."""
        params = dict(capability=capability, user=user, label=label)
        return _models(Agent, await self._send("GET", "/v1/agents", params=params))

    async def agent(self, agent_id: str) -> Agent:
        """One agent's directory record (``NotFound`` without a current record)."""
        return Agent.from_json(await self._send("GET", "/v1/agents/{id}", path={"id": agent_id}))

    async def find_agents(self, capability: str) -> list[Agent]:
        """The agents offering ``capability``."""
        return await self.agents(capability=capability)

    # MARK: - Tasks (caller)

    async def send_task(
        self,
        capability: str = "default",
        payload: Any = None,
        *,
        to: str | None = None,
        timeout_ms: int | None = None,
        wait_ms: int | None = None,
        require: Sequence[str] | None = None,
    ) -> TaskView:
        """Sends a task to ``to``, or to an agent offering ``capability``.

        Args:
            capability: what the worker is asked for.
            payload: any JSON value.
            to: an agent id (else any agent offering the capability).
            timeout_ms: the task fails with ``timeout`` this long after it is sent (default 60 s).
            wait_ms: wait up to this long (≤ 60000) for the task to end before answering.
            require: conditions on the worker (``cpu_cores>=4``, ``gpu.vram_gb>=24``, ...).

        Raises:
            NoRoute: nothing known offers the capability.
            PeerUnreachable: the worker's addresses and relays all failed.
        """
        body: dict[str, Any] = {"capability": capability, "payload": payload}
        body.update(_body(to=to, timeout_ms=timeout_ms, wait_ms=wait_ms, require=list(require) if require else None))
        data = await self._send("POST", "/v1/tasks", json=body, timeout=self._wait_timeout(wait_ms))
        return TaskView.from_json(data)

    async def get_task(self, task_id: str, *, wait_ms: int | None = None, after_ms: int | None = None) -> TaskView:
        """A task sent or received here.

        ``wait_ms`` (≤ 60000) waits for it to end (sent) or change (received); with
        ``after_ms`` (an ``updated_ms`` seen before), for a change after it.
        """
        params = dict(wait_ms=wait_ms, after_ms=after_ms)
        data = await self._send("GET", "/v1/tasks/{id}", path={"id": task_id}, params=params, timeout=self._wait_timeout(wait_ms))
        return TaskView.from_json(data)

    async def wait_task(self, task_id: str, *, timeout: float | None = None) -> TaskView:
        """Waits until a task ends and returns it (``Timeout`` after ``timeout`` seconds)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        view = await self.get_task(task_id)
        while not view.is_terminal:
            left = 60.0 if deadline is None else deadline - loop.time()
            if left <= 0:
                raise Timeout(f"task {task_id} did not end within {timeout} s (it is {view.state})")
            view = await self.get_task(task_id, wait_ms=max(1, int(min(60.0, left) * 1000)))
        return view

    async def list_tasks(self, *, role: str | None = None, limit: int | None = None) -> list[TaskView]:
        """Tasks sent from here (``role="worker"``: received for local workers), newest first."""
        return _models(TaskView, await self._send("GET", "/v1/tasks", params={"role": role, "limit": limit}))

    async def cancel_task(self, task_id: str) -> TaskView:
        """Cancels a task sent from here; its worker is told."""
        return TaskView.from_json(await self._send("POST", "/v1/tasks/{id}/cancel", path={"id": task_id}))

    # MARK: - Tasks (worker, by hand)

    async def next_task(self, capability: str, *, wait_ms: int | None = None, lease_ms: int | None = None) -> TaskView | None:
        """Leases the next task for ``capability`` (``None`` when none came within ``wait_ms``)."""
        params = dict(capability=capability, wait_ms=wait_ms, lease_ms=lease_ms)
        data = await self._send("GET", "/v1/tasks/next", params=params, timeout=self._wait_timeout(wait_ms))
        task = (data or {}).get("task")
        return None if task is None else TaskView.from_json(task)

    async def task_progress(self, task_id: str, message: str) -> TaskView:
        """Reports progress on a leased task (renews the lease); the task as it is now."""
        data = await self._send("POST", "/v1/tasks/{id}/progress", path={"id": task_id}, json={"message": message})
        return TaskView.from_json(data)

    async def complete_task(self, task_id: str, result: Any) -> TaskView:
        """Posts a leased task's result (any JSON value)."""
        data = await self._send("POST", "/v1/tasks/{id}/result", path={"id": task_id}, json={"result": result})
        return TaskView.from_json(data)

    async def fail_task(self, task_id: str, code: str, message: str) -> TaskView:
        """Fails a leased task with an error ``code`` and ``message``."""
        body = {"error": {"code": code, "message": message}}
        data = await self._send("POST", "/v1/tasks/{id}/result", path={"id": task_id}, json=body)
        return TaskView.from_json(data)

    # MARK: - Worker

    def on_task(
        self, capability: str, *, concurrency: int = 4, lease_ms: int = 60_000, poll_ms: int = 10_000
    ) -> Callable[[H], H]:
        """Registers the decorated function as the handler of ``capability``.

        The handler takes a :class:`~plexus.Task` and returns the result (or raises).
        :meth:`run` then serves it with up to ``concurrency`` tasks at once, leasing each
        for ``lease_ms`` (renewed while it runs); each lane asks the node for a task with
        a long poll of ``poll_ms``, which also bounds how long :meth:`stop` takes.

        >>> @client.on_task("summarise")
        ... async def summarise(task: plexus.Task) -> dict:
        ...     await task.progress("reading")
        ...     return {"summary": task.payload["text"][:100]}
        """
        if not 1 <= concurrency <= 64:
            raise ValueError("concurrency is 1 to 64")
        if not 1000 <= lease_ms <= 600_000:
            raise ValueError("lease_ms is 1000 to 600000")
        if not 0 <= poll_ms <= 60_000:
            raise ValueError("poll_ms is 0 to 60000")

        def register(handler: H) -> H:
            self._registrations[capability] = Registration(capability, handler, concurrency, lease_ms, poll_ms)
            return handler

        return register

    async def run(self, *, max_tasks: int | None = None) -> None:
        """Serves the registered handlers until :meth:`stop` (or ``max_tasks`` tasks are done).

        Tasks running when it stops finish first. Raises when the node refuses the
        worker for good (a wrong token, a bad capability name).
        """
        if self._worker is not None:
            raise RuntimeError("this client's worker is already running")
        self._worker = Worker(self, list(self._registrations.values()), max_tasks=max_tasks)
        try:
            await self._worker.run()
        finally:
            self._worker = None

    def stop(self, *, now: bool = False) -> None:
        """Stops a running worker from taking tasks (thread-safe; safe when none runs).

        :meth:`run` returns once the running handlers finished and the leases asked for
        are answered (within ``poll_ms``); ``now=True`` gives those up at once.
        """
        if self._worker is not None:
            self._worker.stop(now=now)

    # MARK: - Groups

    async def groups(self) -> list[Group]:
        """The private groups this node is in."""
        return _models(Group, await self._send("GET", "/v1/groups"))

    async def create_group(self, name: str, *, policy: Mapping[str, Any] | None = None) -> Group:
        """Creates a group owned by this agent (with a ledger ``policy``, see :meth:`set_policy`)."""
        return Group.from_json(await self._send("POST", "/v1/groups", json=_body(name=name, policy=policy)))

    async def group(self, group: str) -> Group:
        """One group by id or name: members, roles, epoch."""
        return Group.from_json(await self._send("GET", "/v1/groups/{group}", path={"group": group}))

    async def add_member(self, group: str, agent: str, *, role: str | None = None) -> Group:
        """Adds an agent (``reader``, ``member``, ``manager``, ``owner``)."""
        data = await self._send("POST", "/v1/groups/{group}/members", path={"group": group}, json=_body(agent=agent, role=role))
        return Group.from_json(data)

    async def remove_member(self, group: str, agent: str) -> Group:
        """Removes an agent (the group is rekeyed)."""
        data = await self._send("DELETE", "/v1/groups/{group}/members/{agent}", path={"group": group, "agent": agent})
        return Group.from_json(data)

    async def set_role(self, group: str, agent: str, role: str) -> Group:
        """Changes a member's role."""
        data = await self._send(
            "PUT", "/v1/groups/{group}/members/{agent}/role", path={"group": group, "agent": agent}, json={"role": role}
        )
        return Group.from_json(data)

    async def rekey_group(self, group: str) -> Group:
        """Starts a new epoch key."""
        return Group.from_json(await self._send("POST", "/v1/groups/{group}/rekey", path={"group": group}))

    async def leave_group(self, group: str) -> Group:
        """Leaves a group."""
        return Group.from_json(await self._send("POST", "/v1/groups/{group}/leave", path={"group": group}))

    async def group_feed(
        self,
        group: str,
        *,
        author: str | None = None,
        type: str | None = None,
        tag: str | None = None,
        ref: str | None = None,
        since: int | None = None,
        before: int | None = None,
        limit: int | None = None,
        wait_ms: int | None = None,
        since_ms: int | None = None,
        include_hidden: bool | None = None,
    ) -> EntryPage:
        """A group's entries as opened here, with the feed's filters and paging."""
        params = dict(
            author=author, type=type, tag=tag, ref=ref, since=since, before=before, limit=limit, wait_ms=wait_ms,
            since_ms=since_ms, include_hidden=include_hidden,
        )
        data = await self._send(
            "GET", "/v1/groups/{group}/entries", path={"group": group}, params=params, timeout=self._wait_timeout(wait_ms)
        )
        return EntryPage.from_json(data)

    async def group_publish(
        self,
        group: str,
        content: Mapping[str, Any],
        *,
        type: str | None = None,
        tags: Sequence[str] | None = None,
        refs: Sequence[str] | None = None,
        supersedes: Sequence[str] | None = None,
        expires_ms: int | None = None,
        expires_at: str | None = None,
        ttl_s: int | None = None,
    ) -> Entry:
        """Seals an entry into a group (replacing ``supersedes``); the entry as opened here."""
        body = _body(
            content=dict(content),
            type=type,
            tags=list(tags) if tags is not None else None,
            refs=list(refs) if refs is not None else None,
            supersedes=list(supersedes) if supersedes is not None else None,
            expires_ms=expires_ms,
            expires_at=expires_at,
            ttl_s=ttl_s,
        )
        return Entry.from_json(await self._send("POST", "/v1/groups/{group}/entries", path={"group": group}, json=body))

    async def group_search(
        self,
        group: str,
        q: str,
        *,
        limit: int | None = None,
        since_ms: int | None = None,
        include_hidden: bool | None = None,
    ) -> SearchResults:
        """BM25 search over a group's opened entries."""
        params = dict(q=q, limit=limit, since_ms=since_ms, include_hidden=include_hidden)
        return SearchResults.from_json(await self._send("GET", "/v1/groups/{group}/search", path={"group": group}, params=params))

    async def retract(self, entry_id: str, *, reason: str | None = None) -> Entry:
        """Takes back one of this agent's group entries."""
        return Entry.from_json(await self._send("POST", "/v1/retract", json=_body(id=entry_id, reason=reason)))

    async def compile_context(
        self, group: str, query: str, *, budget: int | None = None, since_ms: int | None = None
    ) -> Context:
        """``compile_context``: the group's knowledge for ``query`` within a token budget."""
        body = _body(query=query, budget=budget, since_ms=since_ms)
        return Context.from_json(await self._send("POST", "/v1/groups/{group}/context", path={"group": group}, json=body))

    async def board(self, group: str) -> Board:
        """A group's task board."""
        return Board.from_json(await self._send("GET", "/v1/groups/{group}/board", path={"group": group}))

    async def create_board_task(
        self,
        group: str,
        title: str,
        *,
        body: str | None = None,
        assignee: str | None = None,
        reward: int | None = None,
        arbiter: str | None = None,
    ) -> BoardTask:
        """Adds a task to a group's board (a reward is locked from this agent's balance)."""
        payload = _body(title=title, body=body, assignee=assignee, reward=reward, arbiter=arbiter)
        return BoardTask.from_json(await self._send("POST", "/v1/groups/{group}/board", path={"group": group}, json=payload))

    async def move_board_task(
        self,
        group: str,
        task: str,
        move: str,
        *,
        assignee: str | None = None,
        result: str | None = None,
        reason: str | None = None,
        to: str | None = None,
    ) -> BoardTask:
        """Moves a board task: ``assign``, ``start``, ``complete``, ``fail``, ``accept``, ``cancel``, ``dispute``, ``rule``."""
        data = await self._send(
            "POST",
            "/v1/groups/{group}/board/{task}/{move}",
            path={"group": group, "task": task, "move": move},
            json=_body(assignee=assignee, result=result, reason=reason, to=to),
        )
        return BoardTask.from_json(data)

    async def presence(self, group: str, *, stale_after_ms: int | None = None) -> list[Presence]:
        """Members' presence in a group."""
        data = await self._send("GET", "/v1/groups/{group}/presence", path={"group": group}, params={"stale_after_ms": stale_after_ms})
        return _models(Presence, data)

    async def set_presence(
        self,
        group: str,
        status: str,
        *,
        text: str | None = None,
        note: Mapping[str, Any] | None = None,
        ttl_s: int | None = None,
    ) -> Presence:
        """Says how this agent is in a group: ``online``, ``busy``, ``away``, ``offline``."""
        body = _body(status=status, text=text, note=dict(note) if note is not None else None, ttl_s=ttl_s)
        return Presence.from_json(await self._send("PUT", "/v1/groups/{group}/presence", path={"group": group}, json=body))

    # MARK: - Ledger

    async def ledger(self, group: str) -> Ledger:
        """A group's ledger: policy, supply, balances."""
        return Ledger.from_json(await self._send("GET", "/v1/groups/{group}/ledger", path={"group": group}))

    async def ledger_account(self, group: str, *, agent: str | None = None, limit: int | None = None) -> LedgerAccount:
        """One account (default: this agent's)."""
        data = await self._send(
            "GET", "/v1/groups/{group}/ledger/account", path={"group": group}, params={"agent": agent, "limit": limit}
        )
        return LedgerAccount.from_json(data)

    async def mint(self, group: str, amount: int, *, to: str | None = None) -> Posting:
        """Mints tokens (the treasury only), and sends them to ``to``."""
        data = await self._send("POST", "/v1/groups/{group}/ledger/mint", path={"group": group}, json=_body(amount=amount, to=to))
        return Posting.from_json(data)

    async def transfer(
        self, group: str, to: str, amount: int, *, memo: str | None = None, for_: str | None = None
    ) -> Posting:
        """Sends tokens to a member (the policy's fee goes to the treasury)."""
        body = _body(to=to, amount=amount, memo=memo)
        if for_ is not None:
            body["for"] = for_
        return Posting.from_json(await self._send("POST", "/v1/groups/{group}/ledger/transfer", path={"group": group}, json=body))

    async def set_policy(
        self,
        group: str,
        *,
        currency: str,
        supply_cap: int,
        treasury: str | None = None,
        faucet: int | None = None,
        claim_reward: int | None = None,
        claim_reward_daily_limit: int | None = None,
        fee_basis_points: int | None = None,
        balance_cap: int | None = None,
    ) -> Ledger:
        """Changes a group ledger's policy (the owner)."""
        body = _body(
            currency=currency, supply_cap=supply_cap, treasury=treasury, faucet=faucet, claim_reward=claim_reward,
            claim_reward_daily_limit=claim_reward_daily_limit, fee_basis_points=fee_basis_points, balance_cap=balance_cap,
        )
        return Ledger.from_json(await self._send("PUT", "/v1/groups/{group}/policy", path={"group": group}, json=body))

    # MARK: - Market

    async def offers(
        self, group: str, *, q: str | None = None, withdrawn: bool | None = None, limit: int | None = None
    ) -> OfferList:
        """A group's offers (newest first, or best match for ``q``)."""
        params = dict(q=q, withdrawn=withdrawn, limit=limit)
        return OfferList.from_json(await self._send("GET", "/v1/groups/{group}/offers", path={"group": group}, params=params))

    async def create_offer(
        self,
        group: str,
        *,
        title: str,
        price: int,
        content: bytes | None = None,
        blob: str | None = None,
        description: str | None = None,
        tags: Sequence[str] | None = None,
        name: str | None = None,
        media_type: str | None = None,
    ) -> Offer:
        """Offers goods (``content`` bytes, up to 40 KiB, or a ``blob``) for ``price`` tokens."""
        body = _body(
            title=title,
            price=price,
            content=base64.b64encode(content).decode("ascii") if content is not None else None,
            blob=blob,
            description=description,
            tags=list(tags) if tags is not None else None,
            name=name,
            media_type=media_type,
        )
        return Offer.from_json(await self._send("POST", "/v1/groups/{group}/offers", path={"group": group}, json=body))

    async def offer(self, offer_id: str) -> Offer:
        """One offer, with this agent's purchases of it."""
        return Offer.from_json(await self._send("GET", "/v1/offers/{offer}", path={"offer": offer_id}))

    async def buy_offer(self, offer_id: str, *, deadline_s: int | None = None, wait_s: int | None = None) -> Purchase:
        """Buys an offer; waits up to ``wait_s`` for the seller's node to claim."""
        data = await self._send(
            "POST",
            "/v1/offers/{offer}/buy",
            path={"offer": offer_id},
            json=_body(deadline_s=deadline_s, wait_s=wait_s),
            timeout=self._wait_timeout((wait_s or 0) * 1000),
        )
        return Purchase.from_json(data)

    async def withdraw_offer(self, offer_id: str) -> Offer:
        """Withdraws this agent's offer."""
        return Offer.from_json(await self._send("POST", "/v1/offers/{offer}/withdraw", path={"offer": offer_id}))

    async def offer_goods(self, offer_id: str) -> Goods:
        """The goods of an offer this agent sells or bought (``.data`` has the bytes)."""
        return Goods.from_json(await self._send("GET", "/v1/offers/{offer}/goods", path={"offer": offer_id}))

    # MARK: - Retention

    async def retention_policies(self) -> RetentionPolicyList:
        """The retention policies in force."""
        return RetentionPolicyList.from_json(await self._send("GET", "/v1/retention/policies"))

    async def add_retention_policy(
        self,
        *,
        topic: str | None = None,
        author: str | None = None,
        max_age_s: int | None = None,
        max_count: int | None = None,
        compact_key: str | None = None,
    ) -> RetentionPolicy:
        """Adds a retention policy (one scope at most, at least one bound)."""
        body = _body(topic=topic, author=author, max_age_s=max_age_s, max_count=max_count, compact_key=compact_key)
        return RetentionPolicy.from_json(await self._send("POST", "/v1/retention/policies", json=body))

    async def remove_retention_policy(self, policy_id: str) -> RetentionPolicy:
        """Deletes a policy added through the API."""
        return RetentionPolicy.from_json(await self._send("DELETE", "/v1/retention/policies/{id}", path={"id": policy_id}))

    async def run_retention(self) -> RetentionRun:
        """Sweeps now."""
        return RetentionRun.from_json(await self._send("POST", "/v1/retention/run"))

    # MARK: - Blobs

    async def blobs(self, *, limit: int | None = None, offset: int | None = None) -> BlobList:
        """The blobs held here, the quota and the fetches in progress."""
        return BlobList.from_json(await self._send("GET", "/v1/blobs", params={"limit": limit, "offset": offset}))

    async def put_blob(
        self,
        data: bytes | bytearray | memoryview | AsyncIterator[bytes],
        *,
        size: int | None = None,
        pin: bool = True,
        group: str | None = None,
    ) -> Blob:
        """Stores bytes as a blob; its id is their SHA-256.

        ``data`` is bytes, or an async iterator of chunks with their total ``size``
        (the node needs the length up front). With ``group``, sealed under that group's key.
        """
        content: bytes | AsyncIterator[bytes]
        if isinstance(data, (bytes, bytearray, memoryview)):
            content = bytes(data)
            length = len(data)
        else:
            if size is None:
                raise ValueError("streaming a blob needs its size")
            content, length = data, size
        params = {"pin": None if pin else False, "group": group}
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length)}
        # A blob may take long to store: no overall timeout beyond the transfer itself.
        data_json = await self._send(
            "POST", "/v1/blobs", params=params, content=content, headers=headers, timeout=max(self._timeout, 3600.0)
        )
        return Blob.from_json(data_json)

    async def put_blob_file(
        self, file: str | os.PathLike[str], *, pin: bool = True, group: str | None = None, chunk_size: int = 1 << 20
    ) -> Blob:
        """Streams a file into a blob, ``chunk_size`` bytes at a time."""
        path = Path(file)
        size = path.stat().st_size

        async def chunks() -> AsyncIterator[bytes]:
            with path.open("rb") as handle:
                while True:
                    piece = await asyncio.to_thread(handle.read, chunk_size)
                    if not piece:
                        return
                    yield piece

        return await self.put_blob(chunks(), size=size, pin=pin, group=group)

    async def blob_info(self, blob_id: str) -> Blob:
        """One blob held here (``NotFound`` when not held)."""
        return Blob.from_json(await self._send("GET", "/v1/blobs/{id}/info", path={"id": blob_id}))

    async def iter_blob(
        self, blob_id: str, *, range: ByteRange | None = None, group: str | None = None, offer: str | None = None,
        chunk_size: int | None = None,
    ) -> AsyncIterator[bytes]:
        """A blob's bytes as they arrive, whole or a ``range=(first, last)`` (inclusive).

        Raises ``NotFound`` when the blob is not held here (see :meth:`fetch_blob`) and
        ``RangeNotSatisfiable`` for a range outside it.
        """
        headers = {"Range": _range_header(range)} if range is not None else None
        async with self._stream("GET", "/v1/blobs/{id}", path={"id": blob_id}, params={"group": group, "offer": offer}, headers=headers) as response:
            try:
                async for chunk in response.aiter_bytes(chunk_size):
                    yield chunk
            except httpx.TransportError as error:
                raise self._transport_error(error, "the blob's bytes") from error

    async def read_blob(
        self, blob_id: str, *, range: ByteRange | None = None, group: str | None = None, offer: str | None = None
    ) -> bytes:
        """A blob's bytes (or a range of them) in memory; with ``group`` or ``offer`` (a market
        offer bought here), opened with that group's key or the goods' key."""
        parts = [chunk async for chunk in self.iter_blob(blob_id, range=range, group=group, offer=offer)]
        return b"".join(parts)

    async def download_blob(
        self, blob_id: str, file: str | os.PathLike[str], *, range: ByteRange | None = None, group: str | None = None
    ) -> int:
        """Writes a blob's bytes to a file, streamed; returns how many were written."""
        written = 0
        with Path(file).open("wb") as handle:
            async for chunk in self.iter_blob(blob_id, range=range, group=group):
                await asyncio.to_thread(handle.write, chunk)
                written += len(chunk)
        return written

    async def fetch_blob(
        self, blob_id: str, *, from_: Sequence[str] | None = None, wait_ms: int | None = None, pin: bool | None = None
    ) -> Blob:
        """Fetches a blob from peers (the agents ``from_`` first) and waits until it is held here."""
        body = _body(wait_ms=wait_ms, pin=pin)
        if from_ is not None:
            body["from"] = list(from_)
        wait = wait_ms if wait_ms is not None else 60_000
        data = await self._send("POST", "/v1/blobs/{id}/fetch", path={"id": blob_id}, json=body, timeout=self._wait_timeout(wait))
        return Blob.from_json(data)

    async def pin_blob(self, blob_id: str) -> Blob:
        """Keeps a blob whatever references it."""
        return Blob.from_json(await self._send("PUT", "/v1/blobs/{id}/pin", path={"id": blob_id}))

    async def unpin_blob(self, blob_id: str) -> Blob:
        """Lets a blob go once nothing references it."""
        return Blob.from_json(await self._send("DELETE", "/v1/blobs/{id}/pin", path={"id": blob_id}))

    async def remove_blob(self, blob_id: str) -> Blob:
        """Drops a blob now."""
        return Blob.from_json(await self._send("DELETE", "/v1/blobs/{id}", path={"id": blob_id}))

    # MARK: - Contacts

    async def contacts(self) -> list[Contact]:
        """The contacts and their trust."""
        return _models(Contact, await self._send("GET", "/v1/contacts"))

    async def add_contact(self, agent: str, *, name: str | None = None, trust: str | None = None) -> Contact:
        """Adds a contact (``known`` by default) or changes its name or trust (``blocked``, ``known``, ``trusted``)."""
        return Contact.from_json(await self._send("POST", "/v1/contacts", json=_body(agent=agent, name=name, trust=trust)))

    async def remove_contact(self, agent: str) -> Contact:
        """Forgets a contact."""
        return Contact.from_json(await self._send("DELETE", "/v1/contacts/{agent}", path={"agent": agent}))

    # MARK: - Direct messages

    async def send_dm(self, to: str, content: Mapping[str, Any], *, wait_ms: int | None = None) -> DirectMessage:
        """Sends a direct message (a JSON object ≤ 64 KiB) sealed to ``to``; ``wait_ms`` waits for delivery."""
        body = _body(to=to, content=dict(content), wait_ms=wait_ms)
        return DirectMessage.from_json(await self._send("POST", "/v1/dms", json=body, timeout=self._wait_timeout(wait_ms)))

    async def dms(
        self,
        *,
        with_: str | None = None,
        quarantined: bool | None = None,
        since: int | None = None,
        before: int | None = None,
        limit: int | None = None,
        wait_ms: int | None = None,
    ) -> DirectPage:
        """Direct messages sent and received, newest first (with ``since``: oldest first, long-poll)."""
        params = {"with": with_, "quarantined": quarantined or None, "since": since, "before": before, "limit": limit, "wait_ms": wait_ms}
        return DirectPage.from_json(await self._send("GET", "/v1/dms", params=params, timeout=self._wait_timeout(wait_ms)))

    async def dm(self, message_id: str) -> DirectMessage:
        """One direct message, opened."""
        return DirectMessage.from_json(await self._send("GET", "/v1/dms/{id}", path={"id": message_id}))

    async def mark_dm_read(self, message_id: str) -> DirectMessage:
        """Marks a direct message read."""
        return DirectMessage.from_json(await self._send("POST", "/v1/dms/{id}/read", path={"id": message_id}))

    async def conversations(self) -> list[Conversation]:
        """One summary per agent messaged with."""
        return _models(Conversation, await self._send("GET", "/v1/dms/conversations"))

    def dm_events(
        self,
        *,
        with_: str | None = None,
        since: int | None = None,
        last_event_id: str | int | None = None,
        heartbeat_ms: int | None = None,
        max_retries: int = 8,
        backoff: float = 0.25,
        max_backoff: float = 10.0,
    ) -> EventStream:
        """Direct messages as they are stored (``GET /v1/dms/events``), resumed like :meth:`events`."""
        start = None
        if since is None and last_event_id is None:

            async def start_here() -> str | None:
                page = await self.dms(limit=1)
                return str(page.messages[0].seq) if page.messages else "0"

            start = start_here
        return self._sse(
            "GET",
            "/v1/dms/events",
            params={"with": with_, "since": since},
            last_event_id=last_event_id,
            start=start,
            heartbeat_ms=heartbeat_ms,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
        )


def _range_header(byte_range: ByteRange) -> str:
    first, last = byte_range
    if first < 0 or (last is not None and last < first):
        raise ValueError(f"not a byte range: {byte_range!r}")
    return f"bytes={first}-{'' if last is None else last}"


async def connect_async(
    data: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    token: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
) -> AsyncClient:
    """``await plexus.connect_async(data=DIR)``: the same as :meth:`AsyncClient.connect`."""
    return await AsyncClient.connect(data, url=url, token=token, timeout=timeout, check=check)
