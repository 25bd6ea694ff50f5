"""Direct messages between two nodes, their event stream, and contacts."""

from __future__ import annotations

import asyncio

import pytest

import plexus
from plexus.testing import NodeProcess


@pytest.mark.anyio
async def test_direct_message_sent_received_read_and_streamed(pair: tuple[NodeProcess, NodeProcess]) -> None:
    a, b = pair
    async with await plexus.connect_async(data=a.data_dir) as ca, await plexus.connect_async(data=b.data_dir) as cb:
        a_id, b_id = await ca.agent_id(), await cb.agent_id()
        # The sender needs the recipient's directory record (its exchange key).
        deadline = asyncio.get_running_loop().time() + 15
        while not any(agent.agent_id == b_id for agent in await ca.agents()):
            assert asyncio.get_running_loop().time() < deadline, "b's record never reached a"
            await asyncio.sleep(0.1)

        inbox = cb.dm_events(heartbeat_ms=500)
        first_event = asyncio.ensure_future(inbox.__anext__())
        try:
            sent = await ca.send_dm(b_id, {"text": "hello b"}, wait_ms=15_000)
            assert sent.direction == "out" and sent.peer == b_id
            assert sent.state == "delivered"

            event = await asyncio.wait_for(first_event, 15)
            assert event.event == "dm"
            assert event.message.content == {"text": "hello b"} and event.message.peer == a_id

            page = await cb.dms(with_=a_id)
            assert [m.content for m in page.messages] == [{"text": "hello b"}]
            received = page.messages[0]
            assert received.direction == "in" and received.state == "received" and received.read_ms is None
            assert (await cb.dm(received.id)).content == {"text": "hello b"}
            assert (await cb.mark_dm_read(received.id)).read_ms is not None
            (conversation,) = await cb.conversations()
            assert conversation.peer == a_id and conversation.messages == 1 and conversation.unread == 0
        finally:
            first_event.cancel()
            await inbox.aclose()


@pytest.mark.anyio
async def test_contacts_add_change_and_remove(pair: tuple[NodeProcess, NodeProcess]) -> None:
    a, b = pair
    async with await plexus.connect_async(data=a.data_dir) as ca:
        b_id = b.agent_id
        contact = await ca.add_contact(b_id, name="bee")
        assert (contact.agent, contact.name, contact.trust) == (b_id, "bee", "known")
        trusted = await ca.add_contact(b_id, trust="trusted")
        assert trusted.trust == "trusted"
        assert [c.agent for c in await ca.contacts()] == [b_id]
        assert (await ca.agent(b_id)).contact is not None
        removed = await ca.remove_contact(b_id)
        assert removed.agent == b_id
        assert await ca.contacts() == []
        with pytest.raises(plexus.NotFound):
            await ca.remove_contact(b_id)
        with pytest.raises(plexus.InvalidContent):
            await ca.add_contact(await ca.agent_id())
