"""Entries: publish, then read them back through the feed (with cursors and paging), by id,
as a thread and through search; the errors the node reports, as typed exceptions."""

from __future__ import annotations

import pytest

import plexus
from plexus.testing import NodeProcess


@pytest.mark.anyio
async def test_publish_then_feed_entry_and_search(node: NodeProcess) -> None:
    async with await plexus.connect_async(data=node.data_dir) as client:
        entry = await client.publish(
            {"title": "WAL mode", "text": "Readers never block the writer in SQLite WAL mode"},
            topic="research",
            tags=["sqlite", "wal"],
        )
        assert isinstance(entry, plexus.Entry)
        assert entry.author == node.agent_id and entry.seq == 1 and entry.linked
        assert entry.topic == "research" and entry.tags == ["sqlite", "wal"] and entry.type == "insight"

        page = await client.feed(topic="research")
        assert [e.id for e in page.entries] == [entry.id]
        assert page.has_more is False

        fetched = await client.entry(entry.id)
        assert fetched == entry
        assert fetched.content == {"title": "WAL mode", "text": "Readers never block the writer in SQLite WAL mode"}
        assert fetched.text == "Readers never block the writer in SQLite WAL mode"

        results = await client.search("writer", topic="research")
        assert results.query == "writer"
        assert [hit.entry.id for hit in results.hits] == [entry.id]
        assert isinstance(results.hits[0].rank, float)
        assert (await client.search("nothing-matches-this")).hits == []

        reply = await client.publish({"text": "Measured: one fsync per batch"}, type="response", refs=[entry.id])
        thread = await client.thread(entry.id)
        assert {e.id for e in thread.entries} == {entry.id, reply.id}
        assert [e.id for e in (await client.feed(ref=entry.id)).entries] == [reply.id]


@pytest.mark.anyio
async def test_feed_pages_with_cursors(node: NodeProcess) -> None:
    async with await plexus.connect_async(data=node.data_dir) as client:
        published = [await client.publish({"text": f"note {i}"}, topic="paging") for i in range(7)]
        ids = [e.id for e in published]

        # Oldest first after a cursor: continue with next_cursor.
        first = await client.feed(topic="paging", since=0, limit=3)
        assert [e.id for e in first.entries] == ids[:3] and first.has_more
        second = await client.feed(topic="paging", since=first.next_cursor, limit=3)
        assert [e.id for e in second.entries] == ids[3:6]

        # Newest first: continue with before=next_cursor until it is None.
        newest = await client.feed(topic="paging", limit=4)
        assert [e.id for e in newest.entries] == ids[::-1][:4]
        assert newest.next_cursor is not None

        assert [e.id async for e in client.iter_feed(topic="paging", page_size=3)] == ids
        assert [e.id async for e in client.iter_feed(topic="paging", page_size=2, newest_first=True)] == ids[::-1]
        assert [e.id async for e in client.iter_feed(topic="paging", since=published[4].cursor)] == ids[5:]

        # A long poll answers as soon as an entry arrives.
        latest = published[-1].cursor
        empty = await client.feed(topic="paging", since=latest, wait_ms=200)
        assert empty.entries == []


@pytest.mark.anyio
async def test_errors_are_typed_with_code_and_status(node: NodeProcess) -> None:
    async with await plexus.connect_async(data=node.data_dir) as client:
        with pytest.raises(plexus.NotFound) as missing:
            await client.entry("ab" * 32)
        assert (missing.value.code, missing.value.status) == ("notFound", 404)

        with pytest.raises(plexus.InvalidArgument) as bad:
            await client.entry("not-an-entry-id")
        assert (bad.value.code, bad.value.status) == ("invalidArgument", 400)

        with pytest.raises(plexus.InvalidArgument):
            await client.feed(limit=0)

        with pytest.raises(plexus.TooLarge) as large:
            await client.publish({"text": "x"}, type="t" * 65)
        assert large.value.status == 413

        with pytest.raises(plexus.InvalidContent) as past:
            await client.publish({"text": "x"}, expires_ms=1)
        assert past.value.status == 422

        with pytest.raises(plexus.NoRoute) as no_route:
            await client.send_task("nobody-offers-this", {"text": "hi"})
        assert no_route.value.status == 404

        with pytest.raises(plexus.NotFound):
            await client.unfollow(node.agent_id)

        # Every typed error is a PlexusError carrying its message.
        assert isinstance(missing.value, plexus.PlexusError) and "no entry" in missing.value.message


@pytest.mark.anyio
async def test_publish_batch_stores_all_in_order_or_none(node: NodeProcess) -> None:
    async with await plexus.connect_async(data=node.data_dir) as client:
        entries = await client.publish_batch(
            [{"content": {"text": f"batch item {n}"}, "topic": "bulk", "tags": [f"n{n}"]} for n in range(5)]
        )
        assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
        assert [e.prev for e in entries[1:]] == [e.id for e in entries[:-1]]
        assert [e.tags for e in entries] == [[f"n{n}"] for n in range(5)]
        assert len((await client.feed(topic="bulk", limit=10)).entries) == 5

        with pytest.raises(plexus.InvalidContent) as refused:
            await client.publish_batch([{"content": {"text": "fine"}}, {"content": {"text": "late"}, "expires_ms": 1}])
        assert "entries[1]" in refused.value.message
        assert (await client.publish({"text": "next"})).seq == 6


@pytest.mark.anyio
async def test_delete_own_entry(node: NodeProcess) -> None:
    async with await plexus.connect_async(data=node.data_dir) as client:
        keep = await client.publish({"text": "keep"})
        gone = await client.publish({"text": "gone"})
        deletion = await client.delete_entry(gone.id)
        assert deletion.deleted == [gone.id] and len(deletion.requests) == 1
        with pytest.raises(plexus.NotFound):
            await client.entry(gone.id)
        assert (await client.entry(keep.id)).id == keep.id
        again = await client.delete_entries([keep.id])
        assert again.deleted == [keep.id]
