"""The blocking facade: the same methods as the async client, blocking, including event
iteration and a worker whose handlers are plain functions run in threads."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import plexus
from plexus.testing import NodeProcess, wait_until


def test_blocking_client_publishes_reads_and_streams(node: NodeProcess) -> None:
    with plexus.connect(data=node.data_dir) as client:
        assert isinstance(client, plexus.Client)
        entry = client.publish({"text": "from the blocking client"}, topic="sync", tags=["py"])
        assert client.entry(entry.id) == entry
        assert [e.id for e in client.feed(topic="sync").entries] == [entry.id]
        assert [h.entry.id for h in client.search("blocking").hits] == [entry.id]
        assert [e.id for e in client.iter_feed(topic="sync", page_size=1)] == [entry.id]
        with pytest.raises(plexus.NotFound):
            client.entry("cd" * 32)

        with client.events(topic="sync", since=0, heartbeat_ms=500) as events:
            first = next(events)
            assert first.entry.id == entry.id
            second_entry = client.publish({"text": "second"}, topic="sync")
            second = next(events)
            assert second.entry.id == second_entry.id
            assert events.last_event_id == str(second_entry.cursor)

        assert "plexus_entries_published_total" in client.metrics()
        assert client.openapi()["openapi"].startswith("3.1")


def test_blocking_worker_runs_plain_function_handlers(pair: tuple[NodeProcess, NodeProcess]) -> None:
    a, b = pair
    threads: set[str] = set()
    with plexus.connect(data=a.data_dir) as caller, plexus.connect(data=b.data_dir) as worker:

        @worker.on_task("upper", concurrency=2, poll_ms=1000)
        def upper(task: plexus.Task) -> dict[str, Any]:
            threads.add(threading.current_thread().name)
            report = task.progress("uppercasing")
            assert report.wait(10) is not None
            return {"text": str(task.payload["text"]).upper()}

        runner = threading.Thread(target=worker.run_forever, kwargs={"max_tasks": 2}, daemon=True)
        runner.start()
        try:
            wait_until(lambda: caller.find_agents("upper"), timeout=15, what="the worker's capability")
            first = caller.send_task("upper", {"text": "hello"}, wait_ms=15_000)
            assert (first.state, first.result) == ("completed", {"text": "HELLO"})
            second = caller.send_task("upper", {"text": "again"}, timeout_ms=20_000)
            done = caller.wait_task(second.id, timeout=15)
            assert done.result == {"text": "AGAIN"}
            runner.join(20)  # max_tasks=2: the worker stops by itself
            assert not runner.is_alive()
        finally:
            worker.stop()
            runner.join(20)
        assert threads and all(name != "plexus-client" for name in threads)  # not on the loop thread


def test_blocking_worker_stops_on_stop(node: NodeProcess) -> None:
    with plexus.connect(data=node.data_dir) as client:

        @client.on_task("idle", poll_ms=1000)
        def idle(task: plexus.Task) -> None:
            return None

        runner = threading.Thread(target=client.run_forever, daemon=True)
        runner.start()
        # Polling for 'idle' makes the node offer it: the worker is then waiting on the node.
        wait_until(lambda: client.find_agents("idle"), timeout=10, what="the worker to poll")
        started = time.monotonic()
        client.stop()
        runner.join(10)
        assert not runner.is_alive() and time.monotonic() - started < 5
