"""Task workers in Python: the lease → progress → result loop of ``plexus worker``.

A handler registered with ``@client.on_task("summarise")`` serves one capability. ``run()``
keeps ``concurrency`` lanes per capability; each lane

1. leases the next task (``GET /v1/tasks/next?capability=…&wait_ms=30000&lease_ms=…``);
2. runs the handler with a :class:`Task` while a watcher long-polls the task
   (``GET /v1/tasks/{id}?wait_ms=…&after_ms=…``): when the task ends meanwhile (its caller
   canceled it, or its deadline passed) the handler's asyncio task is cancelled, as
   ``plexus worker`` stops its command. A progress report answered with an ended task
   cancels it too;
3. renews the lease while the handler runs: each ``task.progress("…")`` renews it, and
   when the handler has said nothing for a third of the lease its last message is sent
   again;
4. posts the handler's return value as the result (``POST /v1/tasks/{id}/result``), or an
   exception as an error result: :class:`TaskError` and :class:`~plexus.errors.PlexusError`
   keep their code, anything else is ``dependencyError``. A result over 32 KiB of JSON,
   or ``bytes``, goes back as a blob (``{"blob": {"id", "size"}}``), as ``plexus worker``
   does.

Handlers may be ``async def`` (cancelled with ``asyncio.CancelledError``) or plain
functions (run in a thread; they cannot be interrupted, so they should check
``task.canceled``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Generator, Union

from .errors import (
    ContractViolation,
    InvalidArgument,
    NodeNotRunning,
    NotFound,
    PlexusError,
    TooLarge,
    Unauthorized,
)
from .models import TaskView

if TYPE_CHECKING:
    from ._client import AsyncClient

__all__ = ["Task", "TaskError", "TaskHandler", "ProgressReport", "Registration", "Worker", "INLINE_RESULT_BYTES"]

logger = logging.getLogger("plexus.worker")

#: A handler: takes the :class:`Task`, returns the result (any JSON value, or ``bytes``),
#: directly or as an awaitable.
TaskHandler = Callable[["Task"], Any]

#: Results larger than this (as compact JSON) go back as a blob: a task message carries
#: at most 64 KiB.
INLINE_RESULT_BYTES = 32 * 1024

#: The most bytes of UTF-8 a progress message may have.
MAX_PROGRESS_BYTES = 4096


class TaskError(Exception):
    """Raise from a handler to fail the task with a chosen error code.

    >>> raise TaskError("the document is empty", code="invalidArgument")
    """

    def __init__(self, message: str, *, code: str = "dependencyError") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_AnyFuture = Union["asyncio.Future[TaskView | None]", "concurrent.futures.Future[TaskView | None]"]


class ProgressReport:
    """A progress report on its way to the node (already sent or being sent).

    ``await`` it in an async handler to wait until the node has it (and to see errors);
    call :meth:`wait` from a plain (threaded) handler. Not waiting is fine: reports go out
    in order, and the result is posted only after all of them.
    """

    def __init__(self, future: _AnyFuture) -> None:
        self._future = future

    def __await__(self) -> Generator[Any, None, TaskView | None]:
        future = self._future
        if isinstance(future, concurrent.futures.Future):
            return asyncio.wrap_future(future).__await__()
        return future.__await__()

    def wait(self, timeout: float | None = None) -> TaskView | None:
        """Blocks until the node has the report (from a thread other than the event loop's)."""
        if isinstance(self._future, concurrent.futures.Future):
            return self._future.result(timeout)
        raise RuntimeError("this report was made on the event loop: await it instead")

    def done(self) -> bool:
        """Whether the node answered (or the report failed)."""
        return self._future.done()


class Task:
    """A task leased by this worker, as its handler sees it.

    Attributes:
        id: the task id (32 hex characters).
        capability: the capability it asks for.
        caller: the agent id of the caller.
        payload: the JSON payload (``None`` when there is none).
        deadline_ms: when the task fails with ``timeout`` (ms since the epoch).
        deliveries: how many times the node handed it out (above 1 after a lease ran out).
        view: the task as the node showed it when leased.
        client: the :class:`~plexus.AsyncClient` the worker runs on.
    """

    def __init__(self, client: AsyncClient, view: TaskView, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.view = view
        self.id: str = view.id
        self.capability: str = view.capability
        self.caller: str = view.caller
        self.payload: Any = view.payload
        self.deadline_ms: int = view.deadline_ms
        self.deliveries: int = view.deliveries or 1
        self._loop = loop
        self._order = asyncio.Lock()
        self._pending: set[_AnyFuture] = set()
        self._canceled = threading.Event()
        self._ended: TaskView | None = None
        self._handler: asyncio.Task[Any] | None = None
        self._last_message: str | None = None
        self._last_report = loop.time()

    def __repr__(self) -> str:
        return f"Task(id={self.id!r}, capability={self.capability!r}, caller={self.caller!r})"

    @property
    def canceled(self) -> bool:
        """True once the task ended without this worker (caller canceled, deadline passed)."""
        return self._canceled.is_set()

    @property
    def ended(self) -> TaskView | None:
        """The task as the node showed it when it ended without this worker, else ``None``."""
        return self._ended

    @property
    def remaining_s(self) -> float:
        """Seconds left until the deadline."""
        return max(0.0, self.deadline_ms / 1000 - time.time())

    @property
    def blob(self) -> dict[str, Any] | None:
        """The blob reference a payload carries (``{"id", "size"?, "name"?}``), else ``None``."""
        payload = self.payload
        if isinstance(payload, dict) and isinstance(payload.get("blob"), dict) and isinstance(payload["blob"].get("id"), str):
            return dict(payload["blob"])
        return None

    async def read_blob(self, *, wait_ms: int = 600_000) -> bytes:
        """The bytes of the payload's blob, fetched from the caller first (as ``plexus worker`` does)."""
        reference = self.blob
        if reference is None:
            raise InvalidArgument("the payload carries no blob")
        await self.client.fetch_blob(reference["id"], from_=[self.caller], wait_ms=wait_ms)
        return await self.client.read_blob(reference["id"])

    def progress(self, message: str) -> ProgressReport:
        """Tells the caller how the work goes, and renews the lease.

        Callable from an async handler (``await task.progress("…")``, or without ``await``)
        and from a plain handler running in a thread. When the node answers that the task
        ended (canceled by its caller), the handler is cancelled.

        Raises:
            TooLarge: the message is longer than 4096 bytes of UTF-8.
        """
        if len(message.encode("utf-8")) > MAX_PROGRESS_BYTES:
            raise TooLarge(f"a progress message is at most {MAX_PROGRESS_BYTES} bytes")
        self._last_message = message
        coroutine = self._report(message)
        future: _AnyFuture
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            future = self._loop.create_task(coroutine)
        else:
            future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        self._pending.add(future)
        future.add_done_callback(self._settled)
        return ProgressReport(future)

    async def _report(self, message: str) -> TaskView | None:
        async with self._order:
            if self._ended is not None:
                return self._ended
            view = await self.client.task_progress(self.id, message)
            self._last_report = self._loop.time()
            if view.is_terminal:
                self._end(view)
            return view

    def _settled(self, future: _AnyFuture) -> None:
        self._pending.discard(future)
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            logger.warning("progress report on task %s failed: %s", self.id, error)

    async def _drain(self, timeout: float = 10.0) -> None:
        """Waits for the progress reports still on their way."""
        pending = [asyncio.wrap_future(f) if isinstance(f, concurrent.futures.Future) else f for f in self._pending]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    def _end(self, view: TaskView) -> None:
        """The task ended without this worker: stop the handler."""
        if self._ended is None:
            self._ended = view
            logger.info("task %s ended (%s) while its handler ran: stopping it", self.id, view.state)
        self._canceled.set()
        if self._handler is not None and not self._handler.done():
            self._handler.cancel()


@dataclass
class Registration:
    """A handler registered for one capability."""

    capability: str
    handler: TaskHandler
    concurrency: int = 4
    lease_ms: int = 60_000
    poll_ms: int = 10_000


def _is_async(handler: TaskHandler) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(getattr(handler, "__call__", None))


class Worker:
    """Runs the registered handlers until :meth:`stop` (see the module documentation)."""

    def __init__(self, client: AsyncClient, registrations: list[Registration], *, max_tasks: int | None = None) -> None:
        if not registrations:
            raise InvalidArgument("no task handler is registered: decorate one with @client.on_task(...)")
        self._client = client
        self._registrations = registrations
        self._left = max_tasks
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._stop_requested = False
        self._polls: set[asyncio.Future[Any]] = set()
        #: Tasks finished by this worker (a result or an error posted, or ended by the node).
        self.handled = 0

    async def run(self) -> None:
        """Serves until :meth:`stop` is called (or ``max_tasks`` are done); running handlers finish first."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        if self._stop_requested:
            self._stopping.set()
        lanes = [
            asyncio.ensure_future(self._lane(registration))
            for registration in self._registrations
            for _ in range(registration.concurrency)
        ]
        try:
            await asyncio.gather(*lanes)
        finally:
            for lane in lanes:
                lane.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)

    def stop(self, *, now: bool = False) -> None:
        """Stops taking tasks (thread-safe); :meth:`run` returns once running handlers finish.

        Leases asked for already are waited for (at most ``poll_ms``), and a task they
        bring is still run: a request given up while the node waits could still lease a
        task to nobody, which would then wait for its lease to run out. ``now=True``
        gives them up anyway.
        """
        self._stop_requested = True
        if self._loop is None or self._loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._stop_now(now)
        else:
            self._loop.call_soon_threadsafe(self._stop_now, now)

    def _stop_now(self, now: bool = False) -> None:
        if self._stopping is not None:
            self._stopping.set()
        if now:
            for poll in list(self._polls):
                poll.cancel()

    def _claim(self) -> bool:
        if self._left is None:
            return True
        if self._left <= 0:
            return False
        self._left -= 1
        return True

    def _release(self) -> None:
        if self._left is not None:
            self._left += 1

    async def _pause(self, seconds: float) -> None:
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _lane(self, registration: Registration) -> None:
        assert self._stopping is not None
        failures = 0
        while not self._stopping.is_set():
            if not self._claim():
                return
            poll = asyncio.ensure_future(
                self._client.next_task(registration.capability, wait_ms=registration.poll_ms, lease_ms=registration.lease_ms)
            )
            self._polls.add(poll)
            try:
                await asyncio.wait({poll})
            finally:
                self._polls.discard(poll)
                if not poll.done():
                    poll.cancel()
            if poll.cancelled():
                self._release()
                return
            error = poll.exception()
            if error is not None:
                self._release()
                if isinstance(error, (Unauthorized, InvalidArgument, TooLarge)):
                    raise error  # misconfigured: no retry helps
                failures += 1
                delay = min(10.0, 0.25 * 2 ** min(failures, 6))
                logger.warning("leasing a '%s' task failed (%s); retrying in %.1f s", registration.capability, error, delay)
                await self._pause(delay)
                continue
            failures = 0
            view: TaskView | None = poll.result()
            if view is None:
                self._release()
                continue
            await self._execute(registration, view)
            self.handled += 1

    async def _execute(self, registration: Registration, view: TaskView) -> None:
        loop = asyncio.get_running_loop()
        task = Task(self._client, view, loop)
        handler = asyncio.ensure_future(self._invoke(registration.handler, task))
        task._handler = handler
        helpers = [
            asyncio.ensure_future(self._watch(task)),
            asyncio.ensure_future(self._keep_lease(task, registration.lease_ms)),
        ]
        deadline = loop.call_later(task.remaining_s + 0.25, self._deadline_passed, task)
        try:
            await asyncio.wait({handler})
        except asyncio.CancelledError:
            handler.cancel()
            await asyncio.gather(handler, return_exceptions=True)
            raise
        finally:
            deadline.cancel()
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
        if task._ended is not None:
            return  # the node has the outcome: canceled by the caller, or past the deadline
        if handler.cancelled():
            outcome: dict[str, Any] = {"error": {"code": "dependencyError", "message": "the handler was cancelled"}}
        elif handler.exception() is not None:
            outcome = {"error": self._failure(handler.exception())}
        else:
            outcome = await self._result(handler.result())
        await task._drain()
        if task._ended is None:
            await self._post(task, outcome)

    async def _invoke(self, handler: TaskHandler, task: Task) -> Any:
        if _is_async(handler):
            value = handler(task)
        else:
            value = await asyncio.to_thread(handler, task)
        if inspect.isawaitable(value):
            value = await value
        return value

    async def _watch(self, task: Task) -> None:
        """Long-polls the task; stops the handler when the task ends without this worker."""
        after = task.view.updated_ms
        failures = 0
        while True:
            try:
                view = await self._client.get_task(task.id, wait_ms=30_000, after_ms=after)
            except NotFound:
                return
            except PlexusError as error:
                failures += 1
                await asyncio.sleep(min(5.0, 0.25 * 2 ** min(failures, 5)))
                logger.debug("watching task %s failed: %s", task.id, error)
                continue
            failures = 0
            if view.is_terminal:
                task._end(view)
                return
            after = max(after, view.updated_ms)

    async def _keep_lease(self, task: Task, lease_ms: int) -> None:
        """Sends the last progress message again when the handler was silent for a third of the lease."""
        interval = max(0.5, lease_ms / 3000)
        while True:
            silent = task._loop.time() - task._last_report
            if silent < interval:
                await asyncio.sleep(interval - silent)
                continue
            try:
                await task.progress(task._last_message or "working")
            except PlexusError as error:
                logger.debug("renewing the lease of task %s failed: %s", task.id, error)
                await asyncio.sleep(interval / 2)

    def _deadline_passed(self, task: Task) -> None:
        if task._handler is not None and not task._handler.done():
            task._end(
                TaskView.from_json({**task.view.raw, "state": "failed", "error": {"code": "timeout", "message": "the deadline passed"}})
            )

    @staticmethod
    def _failure(error: BaseException | None) -> dict[str, str]:
        if isinstance(error, TaskError):
            return {"code": error.code, "message": error.message}
        if isinstance(error, PlexusError):
            return {"code": error.code, "message": error.message}
        return {"code": "dependencyError", "message": f"{type(error).__name__}: {error}"}

    async def _result(self, value: Any) -> dict[str, Any]:
        """The result body: inline JSON, or a blob reference for bytes and large values."""
        try:
            if isinstance(value, (bytes, bytearray, memoryview)):
                blob = await self._client.put_blob(bytes(value), pin=False)
                return {"result": {"blob": {"id": blob.id, "size": blob.size}}}
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as error:
            return {"error": {"code": "dependencyError", "message": f"the handler's result is not JSON: {error}"}}
        except PlexusError as error:
            return {"error": {"code": error.code, "message": f"cannot store the result as a blob: {error.message}"}}
        encoded = text.encode("utf-8")
        if len(encoded) > INLINE_RESULT_BYTES:
            try:
                blob = await self._client.put_blob(encoded, pin=False)
            except PlexusError as error:
                return {"error": {"code": error.code, "message": f"cannot store the result as a blob: {error.message}"}}
            return {"result": {"blob": {"id": blob.id, "size": blob.size}}}
        return {"result": value}

    async def _post(self, task: Task, outcome: dict[str, Any]) -> None:
        for attempt in range(4):
            try:
                if "error" in outcome:
                    await self._client.fail_task(task.id, outcome["error"]["code"], outcome["error"]["message"])
                else:
                    await self._client.complete_task(task.id, outcome.get("result"))
                return
            except PlexusError as error:
                retriable = isinstance(error, NodeNotRunning) or error.code in ("timeout", "overloaded", "internal")
                if isinstance(error, (ContractViolation, NotFound)) or not retriable or attempt == 3:
                    logger.warning("posting the outcome of task %s failed: %s", task.id, error)
                    return
                await asyncio.sleep(0.5 * 2**attempt)


#: A handler as the decorator returns it (unchanged).
HandlerT = Callable[["Task"], Union[Any, Awaitable[Any]]]
