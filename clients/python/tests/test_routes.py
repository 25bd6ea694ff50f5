"""The rest of the API through the SDK against a real node: mesh and replication,
directory, groups (content, board, presence), ledger, market, retention, panel login.

Each call checks that the SDK's request is one the node takes and that the reply parses
into its view."""

from __future__ import annotations

import base64

import pytest

import plexus
from plexus.testing import NodeProcess


@pytest.mark.anyio
async def test_mesh_topics_follows_and_directory(pair: tuple[NodeProcess, NodeProcess]) -> None:
    a, b = pair
    async with await plexus.connect_async(data=a.data_dir) as ca:
        b_id = b.agent_id
        peers = await ca.peers()
        assert [p.agent_id for p in peers if p.state == "connected"] == [b_id]

        topics = await ca.subscribe("science")
        assert "science" in [t.name for t in topics]
        assert "science" not in [t.name for t in await ca.unsubscribe("science")]
        with pytest.raises(plexus.InvalidArgument):
            await ca.unsubscribe("mesh")

        follows = await ca.follow(b_id)
        assert follows.authors == [b_id] and follows.stores_all is False
        assert (await ca.unfollow(b_id)).stores_all is True
        assert (await ca.follows()).authors == []

        assert isinstance(await ca.sync_status(), list)
        assert await ca.forks() == []

        me = await ca.agent(a.agent_id)
        assert me.agent_id == a.agent_id and me.record.addresses == [a.mesh_address]
        assert a.agent_id in [agent.agent_id for agent in await ca.agents()]
        with pytest.raises(plexus.InvalidArgument):
            await ca.agent("nope")

        removal = await ca.remove_peer(b_id)
        assert removal.disconnected is True
        with pytest.raises(plexus.PeerUnreachable):
            await ca.connect_peer("127.0.0.1:1")
        peer = await ca.connect_peer(b.mesh_address)
        assert peer.agent_id == b_id and peer.state == "connected" and peer.remembered is True
        assert [p.remembered for p in await ca.peers() if p.agent_id == b_id] == [True]


@pytest.mark.anyio
async def test_group_content_board_presence_ledger_and_market(node: NodeProcess) -> None:
    async with await plexus.connect_async(data=node.data_dir) as client:
        me = await client.agent_id()
        group = await client.create_group("lab", policy={"currency": "LAB", "supply_cap": 1000})
        assert group.name == "lab" and group.role == "owner"
        assert [m.agent for m in group.members] == [me]
        assert [g.id for g in await client.groups()] == [group.id]
        assert (await client.group("lab")).id == group.id

        claim = await client.group_publish("lab", {"text": "WAL readers never block the writer"}, type="claim", tags=["sqlite"])
        assert claim.group == group.id and claim.content == {"text": "WAL readers never block the writer"}
        better = await client.group_publish(
            "lab", {"text": "WAL readers never block the writer, but stall checkpoints"}, type="claim", supersedes=[claim.id]
        )
        feed = await client.group_feed("lab")
        assert [e.id for e in feed.entries] == [better.id]
        hidden = await client.group_feed("lab", include_hidden=True)
        assert {e.id for e in hidden.entries} == {claim.id, better.id}
        hits = await client.group_search("lab", "checkpoints")
        assert [h.entry.id for h in hits.hits] == [better.id]
        context = await client.compile_context("lab", "what blocks the writer", budget=200)
        assert context.pieces and context.pieces[0].entry.id == better.id and context.tokens <= 200

        note = await client.group_publish("lab", {"text": "to be taken back"})
        retraction = await client.retract(note.id, reason="wrong")
        assert retraction.group == group.id
        assert note.id not in [e.id for e in (await client.group_feed("lab")).entries]

        task = await client.create_board_task("lab", "measure checkpoint stalls", assignee=me)
        assert task.state == "assigned" and task.assignee == me
        started = await client.move_board_task("lab", task.id, "start")
        assert started.state == "started"
        board = await client.board("lab")
        assert [t.id for t in board.tasks] == [task.id]

        presence = await client.set_presence("lab", "busy", text="measuring")
        assert presence.status == "busy" and presence.agent == me
        assert [p.status for p in await client.presence("lab")] == ["busy"]

        posting = await client.mint("lab", 100)
        assert posting.kind == "mint" and posting.amount == 100
        ledger = await client.ledger("lab")
        assert ledger.minted == 100 and ledger.policy is not None and ledger.policy.currency == "LAB"
        account = await client.ledger_account("lab")
        assert account.agent == me and account.balance == 100
        changed = await client.set_policy("lab", currency="LAB", supply_cap=1000, fee_basis_points=100)
        assert changed.policy is not None and changed.policy.fee_basis_points == 100

        offer = await client.create_offer("lab", title="notes", price=5, content=b"the goods", tags=["notes"])
        assert offer.title == "notes" and offer.price == 5 and offer.readable
        assert [o.id for o in (await client.offers("lab")).offers] == [offer.id]
        assert (await client.offer(offer.id)).id == offer.id
        goods = await client.offer_goods(offer.id)
        assert goods.data == b"the goods" and base64.b64decode(goods.content) == b"the goods"
        assert (await client.withdraw_offer(offer.id)).withdrawn is True

        rekeyed = await client.rekey_group("lab")
        assert rekeyed.epoch is not None


@pytest.mark.anyio
async def test_retention_panel_and_submit(node: NodeProcess) -> None:
    async with await plexus.connect_async(data=node.data_dir) as client:
        # Own entries are swept only by a policy that names this agent.
        policy = await client.add_retention_policy(author=await client.agent_id(), max_count=1)
        assert policy.scope == "author" and policy.source == "api"
        listing = await client.retention_policies()
        assert policy.id in [p.id for p in listing.policies]
        for i in range(3):
            await client.publish({"text": f"scratch {i}"}, topic="scratch")
        run = await client.run_retention()
        assert run.removed == 2 and [p.removed for p in run.policies if p.id == policy.id] == [2]
        assert (await client.remove_retention_policy(policy.id)).id == policy.id

        login = await client.panel_login(ttl_ms=5_000)
        assert login.path.startswith("/ui/login?code=")

        with pytest.raises(plexus.MalformedEntry) as malformed:
            await client.submit_entry(b"not a protobuf entry")
        assert malformed.value.status == 422
