"""Blobs: store bytes and files (streamed), read them whole, streamed and by range, pin,
list, remove; and fetch one from another node over the mesh."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import plexus
from plexus.testing import NodeProcess


@pytest.mark.anyio
async def test_put_read_range_pin_and_remove(node: NodeProcess, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    async with await plexus.connect_async(data=node.data_dir) as client:
        blob = await client.put_blob(data, pin=False)
        assert blob.id == hashlib.sha256(data).hexdigest()
        assert blob.size == len(data) and blob.pinned is False

        assert await client.read_blob(blob.id) == data
        assert await client.read_blob(blob.id, range=(10, 19)) == data[10:20]
        assert await client.read_blob(blob.id, range=(299_990, None)) == data[299_990:]
        chunks = [chunk async for chunk in client.iter_blob(blob.id)]
        assert b"".join(chunks) == data
        with pytest.raises(plexus.RangeNotSatisfiable) as outside:
            await client.read_blob(blob.id, range=(400_000, 400_010))
        assert outside.value.status == 416

        target = tmp_path / "copy.bin"
        assert await client.download_blob(blob.id, target) == len(data)
        assert target.read_bytes() == data

        assert (await client.pin_blob(blob.id)).pinned is True
        assert (await client.unpin_blob(blob.id)).pinned is False
        assert (await client.blob_info(blob.id)).id == blob.id
        listing = await client.blobs()
        assert blob.id in [b.id for b in listing.blobs] and listing.count >= 1

        removed = await client.remove_blob(blob.id)
        assert removed.id == blob.id
        with pytest.raises(plexus.NotFound):
            await client.read_blob(blob.id)
        with pytest.raises(plexus.NotFound):
            await client.blob_info(blob.id)


@pytest.mark.anyio
async def test_put_file_streams_and_fetch_from_a_peer(pair: tuple[NodeProcess, NodeProcess], tmp_path: Path) -> None:
    a, b = pair
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    async with await plexus.connect_async(data=a.data_dir) as ca, await plexus.connect_async(data=b.data_dir) as cb:
        blob = await ca.put_blob_file(source, chunk_size=256 * 1024)
        assert (blob.id, blob.size, blob.pinned) == (digest, source.stat().st_size, True)

        with pytest.raises(plexus.NotFound):
            await cb.blob_info(blob.id)
        fetched = await cb.fetch_blob(blob.id, from_=[a.agent_id], wait_ms=30_000)
        assert fetched.id == blob.id and fetched.size == blob.size
        assert hashlib.sha256(await cb.read_blob(blob.id)).hexdigest() == digest
