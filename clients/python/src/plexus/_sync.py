"""The blocking facade: :class:`Client` has every method of :class:`~plexus.AsyncClient`
under the same name, blocking.

It runs one :class:`~plexus.AsyncClient` on an event loop in a background thread of its
own, so it works in scripts, notebooks and threads alike (also where another event loop
runs). Each method is the async one wrapped, with its signature and documentation.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import threading
from typing import Any, AsyncIterator, Callable, Concatenate, Coroutine, Generic, Iterator, ParamSpec, TypeVar

from ._client import DEFAULT_TIMEOUT, AsyncClient
from ._worker import TaskHandler

__all__ = ["Client", "connect", "BlockingIterator"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
H = TypeVar("H", bound=TaskHandler)


class _Portal:
    """An event loop in a daemon thread, and a way to run coroutines on it from other threads."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="plexus-client", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coroutine: Coroutine[Any, Any, R]) -> R:
        """Runs ``coroutine`` on the loop and waits for its outcome."""
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("a blocking Client method was called on its own event loop: use the AsyncClient there")
        future: concurrent.futures.Future[R] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()


def _blocking(method: Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, R]]) -> Callable[Concatenate[Client, P], R]:
    """The blocking twin of an ``AsyncClient`` coroutine method."""

    def call(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._portal.call(method(self._async, *args, **kwargs))

    functools.update_wrapper(call, method)
    return call


class BlockingIterator(Generic[T]):
    """A blocking iterator over one of the client's async iterators (events, pages, bytes).

    Close it with :meth:`close` or ``with``; the wrapped iterator is :attr:`inner`
    (an :class:`~plexus.EventStream` for events: ``last_event_id``, ``reconnects``).
    """

    def __init__(self, portal: _Portal, inner: AsyncIterator[T]) -> None:
        self._portal = portal
        self.inner = inner

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        async def step() -> tuple[bool, T | None]:
            try:
                return True, await self.inner.__anext__()
            except StopAsyncIteration:
                return False, None

        more, item = self._portal.call(step())
        if not more:
            raise StopIteration
        return item  # type: ignore[return-value]

    def close(self) -> None:
        """Closes the underlying stream or response."""
        closer = getattr(self.inner, "aclose", None)
        if closer is not None and not self._portal.loop.is_closed():
            self._portal.call(closer())

    def __enter__(self) -> BlockingIterator[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def last_event_id(self) -> str | None:
        """For event streams: the id of the last event received."""
        return getattr(self.inner, "last_event_id", None)


def _iterating(method: Callable[Concatenate[AsyncClient, P], AsyncIterator[T]]) -> Callable[Concatenate[Client, P], BlockingIterator[T]]:
    """The blocking twin of an ``AsyncClient`` method returning an async iterator."""

    def call(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> BlockingIterator[T]:
        async def make() -> AsyncIterator[T]:
            return method(self._async, *args, **kwargs)

        return BlockingIterator(self._portal, self._portal.call(make()))

    functools.update_wrapper(call, method)
    return call


class Client:
    """A blocking client of one node's API: every :class:`~plexus.AsyncClient` method, blocking.

    >>> with plexus.connect(data="~/.plexus") as client:
    ...     client.publish({"text": "hello"}, topic="research")
    ...     for entry in client.iter_feed(topic="research"):
    ...         print(entry.content)

    Workers: decorate handlers with :meth:`on_task` (plain functions run in threads,
    ``async def`` ones on the client's loop) and call :meth:`run_forever`.
    """

    def __init__(self, url: str, token: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """A client of the API at ``url`` with ``token`` (see :func:`plexus.connect` for data directories)."""
        self._portal = _Portal()

        async def make() -> AsyncClient:
            return AsyncClient(url, token, timeout=timeout)

        self._async = self._portal.call(make())

    @classmethod
    def connect(
        cls,
        data: str | os.PathLike[str] | None = None,
        *,
        url: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        check: bool = True,
    ) -> Client:
        """A blocking client of a running node (see :meth:`AsyncClient.connect`)."""
        client = cls.__new__(cls)
        client._portal = _Portal()
        try:
            client._async = client._portal.call(AsyncClient.connect(data, url=url, token=token, timeout=timeout, check=check))
        except BaseException:
            client._portal.close()
            raise
        return client

    @property
    def url(self) -> str:
        """The API's base URL."""
        return self._async.url

    @property
    def async_client(self) -> AsyncClient:
        """The :class:`AsyncClient` this facade runs (on its own loop thread)."""
        return self._async

    def close(self) -> None:
        """Stops a running worker, closes the connections and the loop thread."""
        if self._portal.loop.is_closed():
            return
        try:
            self._portal.call(self._async.aclose())
        finally:
            self._portal.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(url={self.url!r})"

    # Worker ------------------------------------------------------------------------

    def on_task(
        self, capability: str, *, concurrency: int = 4, lease_ms: int = 60_000, poll_ms: int = 10_000
    ) -> Callable[[H], H]:
        """Registers a handler for ``capability`` (see :meth:`AsyncClient.on_task`).

        Plain functions run in worker threads: call ``task.progress("…")`` (it is sent in
        the background; ``.wait()`` waits for it) and check ``task.canceled``.
        """
        return self._async.on_task(capability, concurrency=concurrency, lease_ms=lease_ms, poll_ms=poll_ms)

    def run_forever(self, *, max_tasks: int | None = None) -> None:
        """Serves the registered handlers until :meth:`stop`, Ctrl-C, or ``max_tasks`` tasks.

        The first Ctrl-C stops gracefully (running handlers finish), a second at once.
        """
        future = asyncio.run_coroutine_threadsafe(self._async.run(max_tasks=max_tasks), self._portal.loop)
        try:
            future.result()
        except KeyboardInterrupt:
            self._async.stop()
            try:
                future.result()
            except KeyboardInterrupt:
                self._async.stop(now=True)
                future.cancel()
                raise

    def stop(self, *, now: bool = False) -> None:
        """Stops :meth:`run_forever` from taking tasks (thread-safe; see :meth:`AsyncClient.stop`)."""
        self._async.stop(now=now)

    # Node ---------------------------------------------------------------------------
    health = _blocking(AsyncClient.health)
    status = _blocking(AsyncClient.status)
    identity = _blocking(AsyncClient.identity)
    agent_id = _blocking(AsyncClient.agent_id)
    metrics = _blocking(AsyncClient.metrics)
    openapi = _blocking(AsyncClient.openapi)
    panel_login = _blocking(AsyncClient.panel_login)
    # Entries
    publish = _blocking(AsyncClient.publish)
    publish_batch = _blocking(AsyncClient.publish_batch)
    feed = _blocking(AsyncClient.feed)
    iter_feed = _iterating(AsyncClient.iter_feed)
    entry = _blocking(AsyncClient.entry)
    thread = _blocking(AsyncClient.thread)
    search = _blocking(AsyncClient.search)
    submit_entry = _blocking(AsyncClient.submit_entry)
    delete_entries = _blocking(AsyncClient.delete_entries)
    delete_entry = _blocking(AsyncClient.delete_entry)
    forks = _blocking(AsyncClient.forks)
    # Events
    events = _iterating(AsyncClient.events)
    dm_events = _iterating(AsyncClient.dm_events)
    # Mesh
    peers = _blocking(AsyncClient.peers)
    connect_peer = _blocking(AsyncClient.connect_peer)
    remove_peer = _blocking(AsyncClient.remove_peer)
    topics = _blocking(AsyncClient.topics)
    subscribe = _blocking(AsyncClient.subscribe)
    unsubscribe = _blocking(AsyncClient.unsubscribe)
    follows = _blocking(AsyncClient.follows)
    follow = _blocking(AsyncClient.follow)
    unfollow = _blocking(AsyncClient.unfollow)
    sync_status = _blocking(AsyncClient.sync_status)
    # Directory
    agents = _blocking(AsyncClient.agents)
    agent = _blocking(AsyncClient.agent)
    find_agents = _blocking(AsyncClient.find_agents)
    # Tasks
    send_task = _blocking(AsyncClient.send_task)
    get_task = _blocking(AsyncClient.get_task)
    wait_task = _blocking(AsyncClient.wait_task)
    list_tasks = _blocking(AsyncClient.list_tasks)
    cancel_task = _blocking(AsyncClient.cancel_task)
    next_task = _blocking(AsyncClient.next_task)
    task_progress = _blocking(AsyncClient.task_progress)
    complete_task = _blocking(AsyncClient.complete_task)
    fail_task = _blocking(AsyncClient.fail_task)
    # Groups
    groups = _blocking(AsyncClient.groups)
    create_group = _blocking(AsyncClient.create_group)
    group = _blocking(AsyncClient.group)
    add_member = _blocking(AsyncClient.add_member)
    remove_member = _blocking(AsyncClient.remove_member)
    set_role = _blocking(AsyncClient.set_role)
    rekey_group = _blocking(AsyncClient.rekey_group)
    leave_group = _blocking(AsyncClient.leave_group)
    group_feed = _blocking(AsyncClient.group_feed)
    group_publish = _blocking(AsyncClient.group_publish)
    group_search = _blocking(AsyncClient.group_search)
    retract = _blocking(AsyncClient.retract)
    compile_context = _blocking(AsyncClient.compile_context)
    board = _blocking(AsyncClient.board)
    create_board_task = _blocking(AsyncClient.create_board_task)
    move_board_task = _blocking(AsyncClient.move_board_task)
    presence = _blocking(AsyncClient.presence)
    set_presence = _blocking(AsyncClient.set_presence)
    # Ledger and market
    ledger = _blocking(AsyncClient.ledger)
    ledger_account = _blocking(AsyncClient.ledger_account)
    mint = _blocking(AsyncClient.mint)
    transfer = _blocking(AsyncClient.transfer)
    set_policy = _blocking(AsyncClient.set_policy)
    offers = _blocking(AsyncClient.offers)
    create_offer = _blocking(AsyncClient.create_offer)
    offer = _blocking(AsyncClient.offer)
    buy_offer = _blocking(AsyncClient.buy_offer)
    withdraw_offer = _blocking(AsyncClient.withdraw_offer)
    offer_goods = _blocking(AsyncClient.offer_goods)
    # Retention
    retention_policies = _blocking(AsyncClient.retention_policies)
    add_retention_policy = _blocking(AsyncClient.add_retention_policy)
    remove_retention_policy = _blocking(AsyncClient.remove_retention_policy)
    run_retention = _blocking(AsyncClient.run_retention)
    # Blobs
    blobs = _blocking(AsyncClient.blobs)
    put_blob = _blocking(AsyncClient.put_blob)
    put_blob_file = _blocking(AsyncClient.put_blob_file)
    blob_info = _blocking(AsyncClient.blob_info)
    iter_blob = _iterating(AsyncClient.iter_blob)
    read_blob = _blocking(AsyncClient.read_blob)
    download_blob = _blocking(AsyncClient.download_blob)
    fetch_blob = _blocking(AsyncClient.fetch_blob)
    pin_blob = _blocking(AsyncClient.pin_blob)
    unpin_blob = _blocking(AsyncClient.unpin_blob)
    remove_blob = _blocking(AsyncClient.remove_blob)
    # Contacts and direct messages
    contacts = _blocking(AsyncClient.contacts)
    add_contact = _blocking(AsyncClient.add_contact)
    remove_contact = _blocking(AsyncClient.remove_contact)
    send_dm = _blocking(AsyncClient.send_dm)
    dms = _blocking(AsyncClient.dms)
    dm = _blocking(AsyncClient.dm)
    mark_dm_read = _blocking(AsyncClient.mark_dm_read)
    conversations = _blocking(AsyncClient.conversations)


def connect(
    data: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    token: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
) -> Client:
    """A blocking :class:`Client` of a running node.

    ``plexus.connect(data=DIR)`` reads ``DIR/api.addr`` and ``DIR/api.token`` (the data
    directory defaults to ``$PLEXUS_HOME``, else ``~/.plexus``); ``url=`` and ``token=``
    name an API directly.
    """
    return Client.connect(data, url=url, token=token, timeout=timeout, check=check)
