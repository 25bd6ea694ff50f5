"""Tasks between two real nodes: a caller on node A, a Python worker (``@on_task``) on B.

The worker runs the lease → progress → result loop of ``plexus worker``; these tests
check the result, the progress the caller sees, cancellation reaching the handler, an
exception becoming a failed task, and the concurrency limit.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator

import pytest

import plexus
from plexus.testing import NodeProcess


async def eventually(check: Any, timeout: float, what: str) -> Any:
    """Polls ``check`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


class Worker:
    """A Python worker on node B, run in the test's event loop."""

    def __init__(self, client: plexus.AsyncClient) -> None:
        self.client = client
        self.runner: asyncio.Future[None] | None = None

    def start(self) -> None:
        self.runner = asyncio.ensure_future(self.client.run())

    async def stop(self) -> None:
        self.client.stop()
        assert self.runner is not None
        await asyncio.wait_for(self.runner, 20)


@pytest.fixture
async def clients(pair: tuple[NodeProcess, NodeProcess]) -> AsyncIterator[tuple[plexus.AsyncClient, plexus.AsyncClient]]:
    a, b = pair
    caller = await plexus.connect_async(data=a.data_dir)
    worker = await plexus.connect_async(data=b.data_dir)
    yield caller, worker
    worker.stop()
    await caller.aclose()
    await worker.aclose()


async def offered(caller: plexus.AsyncClient, capability: str) -> None:
    """Waits until node A's directory knows an agent offering ``capability``."""
    await eventually(lambda: caller.find_agents(capability), 15, f"an agent offering {capability}")


@pytest.mark.anyio
async def test_task_completes_with_the_handlers_result_and_progress_is_visible(
    clients: tuple[plexus.AsyncClient, plexus.AsyncClient],
) -> None:
    caller, worker_client = clients
    go_on = asyncio.Event()
    seen: list[plexus.Task] = []

    @worker_client.on_task("summarise", concurrency=2, poll_ms=1000)
    async def summarise(task: plexus.Task) -> dict[str, Any]:
        seen.append(task)
        await task.progress("reading the text")
        await go_on.wait()
        return {"summary": task.payload["text"][:12], "words": len(task.payload["text"].split())}

    worker = Worker(worker_client)
    worker.start()
    try:
        await offered(caller, "summarise")
        sent = await caller.send_task("summarise", {"text": "Readers never block the writer"}, timeout_ms=30_000)
        assert sent.role == "caller" and sent.capability == "summarise"

        # The caller sees the progress while the handler waits: follow the task's changes.
        working, deadline = sent, time.monotonic() + 15
        while working.message != "reading the text":
            assert time.monotonic() < deadline, f"no progress seen: {working}"
            working = await caller.get_task(sent.id, wait_ms=5_000, after_ms=working.updated_ms)
            assert not working.is_terminal, working
        assert working.state == "working"
        go_on.set()

        done = await caller.wait_task(sent.id, timeout=15)
        assert done.state == "completed"
        assert done.result == {"summary": "Readers neve", "words": 5}
        assert done.worker == (await worker_client.identity()).agent_id
        # What the handler saw.
        (task,) = seen
        assert task.id == sent.id and task.capability == "summarise"
        assert task.caller == (await caller.identity()).agent_id
        assert task.payload == {"text": "Readers never block the writer"}
        assert abs(task.deadline_ms - (sent.created_ms + 30_000)) < 2_000
        received = await worker_client.get_task(sent.id)
        assert received.role == "worker" and received.state == "completed"
    finally:
        await worker.stop()


@pytest.mark.anyio
async def test_cancel_by_the_caller_cancels_the_running_handler(
    clients: tuple[plexus.AsyncClient, plexus.AsyncClient],
) -> None:
    caller, worker_client = clients
    started = asyncio.Event()
    cancelled = asyncio.Event()
    finished_normally: list[str] = []

    @worker_client.on_task("slow", concurrency=1, poll_ms=1000)
    async def slow(task: plexus.Task) -> str:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        finished_normally.append(task.id)
        return "too late"

    @worker_client.on_task("quick", concurrency=1, poll_ms=1000)
    async def quick(task: plexus.Task) -> str:
        return "fine"

    worker = Worker(worker_client)
    worker.start()
    try:
        await offered(caller, "slow")
        await offered(caller, "quick")
        first = await caller.send_task("quick", "x", wait_ms=15_000)
        assert first.state == "completed" and first.result == "fine"

        second = await caller.send_task("slow", {"n": 2}, timeout_ms=60_000)
        await asyncio.wait_for(started.wait(), 15)
        canceled = await caller.cancel_task(second.id)
        assert canceled.state == "canceled"
        await asyncio.wait_for(cancelled.wait(), 10)  # the handler's asyncio task was cancelled
        assert finished_normally == []
        view = await eventually(
            lambda: _terminal(worker_client, second.id), 10, "the worker's node to see the cancel"
        )
        assert view.state == "canceled"
        assert (await caller.get_task(second.id)).state == "canceled"
    finally:
        await worker.stop()


async def _terminal(client: plexus.AsyncClient, task_id: str) -> plexus.TaskView | None:
    view = await client.get_task(task_id)
    return view if view.is_terminal else None


@pytest.mark.anyio
async def test_exceptions_become_failed_tasks(clients: tuple[plexus.AsyncClient, plexus.AsyncClient]) -> None:
    caller, worker_client = clients

    @worker_client.on_task("fragile", poll_ms=1000)
    async def fragile(task: plexus.Task) -> None:
        if task.payload == "choose":
            raise plexus.TaskError("the document is empty", code="invalidArgument")
        raise ValueError("boom: the model is down")

    worker = Worker(worker_client)
    worker.start()
    try:
        await offered(caller, "fragile")
        failed = await caller.send_task("fragile", "anything", wait_ms=15_000)
        assert failed.state == "failed"
        assert failed.error is not None and failed.error.code == "dependencyError"
        assert "ValueError: boom: the model is down" in failed.error.message
        chosen = await caller.send_task("fragile", "choose", wait_ms=15_000)
        assert chosen.state == "failed"
        assert chosen.error is not None and (chosen.error.code, chosen.error.message) == ("invalidArgument", "the document is empty")
    finally:
        await worker.stop()


@pytest.mark.anyio
async def test_concurrency_limit_is_respected(clients: tuple[plexus.AsyncClient, plexus.AsyncClient]) -> None:
    caller, worker_client = clients
    running = 0
    peak = 0

    @worker_client.on_task("count", concurrency=2, poll_ms=1000)
    async def count(task: plexus.Task) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await asyncio.sleep(0.4)
        finally:
            running -= 1
        return int(task.payload) * 2

    worker = Worker(worker_client)
    worker.start()
    try:
        await offered(caller, "count")
        tasks = [await caller.send_task("count", i, timeout_ms=30_000) for i in range(6)]
        results = [await caller.wait_task(t.id, timeout=20) for t in tasks]
        assert [r.state for r in results] == ["completed"] * 6
        assert [r.result for r in results] == [0, 2, 4, 6, 8, 10]
        assert peak == 2  # two at a time: never more, and the limit was reached
    finally:
        await worker.stop()


@pytest.mark.anyio
async def test_progress_answered_with_an_ended_task_cancels_the_handler(
    clients: tuple[plexus.AsyncClient, plexus.AsyncClient],
) -> None:
    caller, worker_client = clients
    reports: list[plexus.TaskView | None] = []
    stopped = asyncio.Event()
    started = asyncio.Event()

    @worker_client.on_task("chatty", concurrency=1, poll_ms=1000)
    async def chatty(task: plexus.Task) -> str:
        try:
            while True:
                reports.append(await task.progress("still here"))
                started.set()
                await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            stopped.set()
            raise

    worker = Worker(worker_client)
    worker.start()
    try:
        await offered(caller, "chatty")
        sent = await caller.send_task("chatty", None, timeout_ms=60_000)
        await asyncio.wait_for(started.wait(), 15)
        await caller.cancel_task(sent.id)
        await asyncio.wait_for(stopped.wait(), 10)
        assert reports and reports[0] is not None and reports[0].state == "working"
        assert all(r is None or r.state in ("working", "canceled") for r in reports)
    finally:
        await worker.stop()


@pytest.mark.anyio
async def test_worker_by_hand_lease_progress_result(clients: tuple[plexus.AsyncClient, plexus.AsyncClient]) -> None:
    caller, worker_client = clients
    assert await worker_client.next_task("by-hand", wait_ms=0) is None
    await offered(caller, "by-hand")
    sent = await caller.send_task("by-hand", {"q": 1})
    leased = await worker_client.next_task("by-hand", wait_ms=10_000, lease_ms=30_000)
    assert leased is not None and leased.id == sent.id and leased.state == "working"
    assert leased.lease_expires_ms is not None and leased.deliveries == 1
    progressed = await worker_client.task_progress(sent.id, "half way")
    assert progressed.message == "half way"
    done = await worker_client.complete_task(sent.id, {"a": 2})
    assert done.state == "completed"
    final = await caller.wait_task(sent.id, timeout=10)
    assert final.result == {"a": 2}
    assert [t.id for t in await caller.list_tasks()] == [sent.id]
    assert sent.id in [t.id for t in await worker_client.list_tasks(role="worker")]
