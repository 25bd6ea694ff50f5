import Foundation
import PlexusCore
import Testing
@testable import PlexusProtocol

/// The node's gossip state machine driven by hand: what it sends for peers coming up, and
/// how it treats messages for a peer it is still dialling.
@Suite struct GossipStateTests {
    static let now = GossipState.Now(elapsed: .seconds(1), wallMs: 1_767_225_600_000)

    static func joins(_ actions: [GossipState.Action]) -> [AgentID] {
        actions.compactMap { action in
            if case .send(let peer, let message) = action, case .join? = message.kind { return peer }
            return nil
        }
    }

    @Test func aNodeJoinsThroughEachBootstrapPeerButNotThroughEveryConnection() {
        var state = GossipState(config: .init(me: AgentKey().id), now: Self.now)
        let inbound = AgentKey().id
        let other = AgentKey().id
        let bootstrap = AgentKey().id
        // No neighbour yet: any connection is joined through.
        #expect(Self.joins(state.handle(.peerUp(inbound, ip: "127.0.0.1", bootstrap: false), now: Self.now)) == [inbound])
        // With a neighbour, an ordinary connection is not...
        #expect(Self.joins(state.handle(.peerUp(other, ip: "127.0.0.1", bootstrap: false), now: Self.now)).isEmpty)
        // ...but a bootstrap peer is, so nodes that joined through each other do not stay an island.
        #expect(Self.joins(state.handle(.peerUp(bootstrap, ip: "127.0.0.1", bootstrap: true), now: Self.now)) == [bootstrap])
        // Not again through a bootstrap peer that is already a neighbour.
        #expect(Self.joins(state.handle(.peerUp(bootstrap, ip: "127.0.0.1", bootstrap: true), now: Self.now)).isEmpty)
    }

    /// Broadcast and membership requests from a peer that is not a neighbour in the topic
    /// (or in a topic this node is not in) are answered so the sender drops the link; from
    /// a neighbour, a push is delivered.
    @Test func aPeerThatIsNotANeighbourIsToldSoAndANeighboursPushIsDelivered() throws {
        var state = GossipState(config: .init(me: AgentKey().id), now: Self.now)
        let neighbour = AgentKey().id
        let stranger = AgentKey().id
        _ = state.handle(.peerUp(neighbour, ip: "127.0.0.1", bootstrap: false), now: Self.now)  // joined through
        _ = state.handle(.peerUp(stranger, ip: "127.0.0.1", bootstrap: false), now: Self.now)
        #expect(state.neighbors(in: TopicName.mesh) == [neighbour])

        let author = AgentKey()
        let entry = try SignedEntry(signing: try EntryDraft(content: .object([:])).body(seq: 1, prev: nil, timeMs: 1), with: author)
        func push(_ topic: String) -> Plexus_Gossip {
            .with { $0.topic = topic; $0.push = .with { $0.entry = entry.encoded(); $0.round = 1 } }
        }
        func replies(_ actions: [GossipState.Action], to peer: AgentID) -> [Plexus_Gossip.OneOf_Kind?] {
            actions.compactMap { action in
                if case .send(let to, let message) = action, to == peer { return message.kind }
                return nil
            }
        }
        let fromStranger = state.handle(.received(push(TopicName.mesh), from: stranger), now: Self.now)
        #expect(replies(fromStranger, to: stranger) == [.disconnect(true)])
        #expect(!fromStranger.contains { if case .deliver = $0 { true } else { false } })
        let elsewhere = state.handle(.received(.with { $0.topic = "elsewhere"; $0.join = .with { $0.agent = stranger.bytes.asData } }, from: stranger), now: Self.now)
        #expect(replies(elsewhere, to: stranger) == [.disconnect(true)])
        let asked = state.handle(.received(.with { $0.topic = "elsewhere"; $0.neighbor = true }, from: stranger), now: Self.now)
        #expect(replies(asked, to: stranger) == [.neighborReply(false)])
        // A PRUNE or a topic list is not answered.
        #expect(state.handle(.received(.with { $0.topic = "elsewhere"; $0.prune = true }, from: stranger), now: Self.now).isEmpty)

        let fromNeighbour = state.handle(.received(push(TopicName.mesh), from: neighbour), now: Self.now)
        #expect(fromNeighbour.contains { if case .deliver(let delivered) = $0 { delivered.id == entry.id } else { false } })
        #expect(!replies(fromNeighbour, to: neighbour).contains(.disconnect(true)))

        // The stranger's further broadcast in the quiet period draws no second DISCONNECT
        // (pushes in flight are expected); after it, one again.
        let quiet = state.config.disconnectQuiet
        let soon = GossipState.Now(elapsed: Self.now.elapsed + quiet / 2, wallMs: Self.now.wallMs)
        #expect(replies(state.handle(.received(push(TopicName.mesh), from: stranger), now: soon), to: stranger).isEmpty)
        let later = GossipState.Now(elapsed: Self.now.elapsed + quiet, wallMs: Self.now.wallMs)
        #expect(replies(state.handle(.received(push(TopicName.mesh), from: stranger), now: later), to: stranger) == [.disconnect(true)])
    }

    /// PRUNE names the author whose broadcast tree it prunes: a duplicate of X's entry is
    /// answered with PRUNE for X, and a PRUNE for X stops pushes of X's entries to that
    /// neighbour but not of Y's. A PRUNE whose origin is not an agent id changes nothing.
    @Test func aPruneOnTheWireNamesTheAuthorWhoseTreeItPrunes() throws {
        var state = GossipState(config: .init(me: AgentKey().id), now: Self.now)
        let a = AgentKey().id
        let b = AgentKey().id
        _ = state.handle(.peerUp(a, ip: "127.0.0.1", bootstrap: false), now: Self.now)
        _ = state.handle(.peerUp(b, ip: "127.0.0.1", bootstrap: false), now: Self.now)
        _ = state.handle(.received(.with { $0.topic = TopicName.mesh; $0.join = .with { $0.agent = b.bytes.asData } }, from: b), now: Self.now)
        #expect(Set(state.neighbors(in: TopicName.mesh)) == [a, b])

        let x = AgentKey()
        let y = AgentKey()
        var made: Int64 = 0
        func entry(by author: AgentKey) throws -> SignedEntry {
            made += 1  // a distinct entry each time
            return try SignedEntry(signing: try EntryDraft(content: .object([:])).body(seq: 1, prev: nil, timeMs: made), with: author)
        }
        func push(_ entry: SignedEntry, from peer: AgentID) -> [GossipState.Action] {
            state.handle(.received(.with { $0.topic = TopicName.mesh; $0.push = .with { $0.entry = entry.encoded(); $0.round = 1 } }, from: peer), now: Self.now)
        }
        func sent(_ actions: [GossipState.Action], to peer: AgentID) -> [Plexus_Gossip] {
            actions.compactMap { if case .send(let to, let message) = $0, to == peer { message } else { nil } }
        }
        func pushesTo(_ peer: AgentID, _ actions: [GossipState.Action]) -> Int {
            sent(actions, to: peer).filter { if case .push? = $0.kind { true } else { false } }.count
        }

        // Both authors' trees push to b at first.
        #expect(pushesTo(b, push(try entry(by: y), from: a)) == 1)
        let first = try entry(by: x)
        #expect(pushesTo(b, push(first, from: a)) == 1)
        let prune = sent(push(first, from: b), to: b)
        #expect(prune.count == 1 && prune.first?.kind == .prune(true) && prune.first?.origin == x.id.bytes.asData)

        // b asks for X's entries by announcement only.
        _ = state.handle(.received(.with { $0.topic = TopicName.mesh; $0.prune = true; $0.origin = x.id.bytes.asData }, from: b), now: Self.now)
        #expect(pushesTo(b, push(try entry(by: x), from: a)) == 0)
        #expect(pushesTo(b, push(try entry(by: y), from: a)) == 1)
        // Not an agent id: ignored.
        _ = state.handle(.received(.with { $0.topic = TopicName.mesh; $0.prune = true; $0.origin = Data([1, 2, 3]) }, from: b), now: Self.now)
        #expect(pushesTo(b, push(try entry(by: y), from: a)) == 1)
    }

    /// A neighbour this node drops (here: it leaves the topic) was sent DISCONNECT; the
    /// pushes it sent before it heard so draw no further DISCONNECT.
    @Test func aDroppedNeighboursPushesInFlightDrawNoFurtherDisconnect() throws {
        var state = GossipState(config: .init(me: AgentKey().id), now: Self.now)
        let neighbour = AgentKey().id
        _ = state.handle(.peerUp(neighbour, ip: "127.0.0.1", bootstrap: false), now: Self.now)
        _ = state.handle(.subscribe("work"), now: Self.now)
        _ = state.handle(.received(.with { $0.topic = "work"; $0.join = .with { $0.agent = neighbour.bytes.asData } }, from: neighbour), now: Self.now)
        #expect(state.neighbors(in: "work") == [neighbour])
        let left = state.handle(.unsubscribe("work"), now: Self.now)
        #expect(left.contains { if case .send(neighbour, let m) = $0 { m.kind == .disconnect(true) } else { false } })
        let entry = try SignedEntry(
            signing: try EntryDraft(topic: "work", content: .object([:])).body(seq: 1, prev: nil, timeMs: 1), with: AgentKey())
        let inFlight = state.handle(
            .received(.with { $0.topic = "work"; $0.push = .with { $0.entry = entry.encoded(); $0.round = 1 } }, from: neighbour), now: Self.now)
        #expect(!inFlight.contains { if case .send(neighbour, _) = $0 { true } else { false } })
    }

    /// A peer's record newly kept is reported (what reads records wakes on it); a copy of
    /// one already kept is not.
    @Test func aNewlyKeptRecordIsReportedOnceByKind() throws {
        var state = GossipState(config: .init(me: AgentKey().id), now: Self.now)
        let neighbour = AgentKey()
        _ = state.handle(.peerUp(neighbour.id, ip: "127.0.0.1", bootstrap: false), now: Self.now)
        let welcome = try SignedRecord(
            signing: Data(repeating: 7, count: 48), kind: .groupWelcome, scope: "someone", timeMs: Self.now.wallMs,
            expiresMs: Self.now.wallMs + 60_000, with: neighbour)
        let message = Plexus_Gossip.with { $0.topic = TopicName.mesh; $0.records = .with { $0.records = [welcome.wire] } }
        func kept(_ actions: [GossipState.Action]) -> [SignedRecord.Kind] {
            actions.compactMap { if case .keptRecord(let kind) = $0 { kind } else { nil } }
        }
        #expect(kept(state.handle(.received(message, from: neighbour.id), now: Self.now)) == [.groupWelcome])
        #expect(kept(state.handle(.received(message, from: neighbour.id), now: Self.now)).isEmpty)
        #expect(state.records(of: .groupWelcome, nowMs: Self.now.wallMs).map(\.id) == [welcome.id])
    }

    @Test func messagesForAPeerBeingDialledWaitForTheDial() {
        var state = GossipState(config: .init(me: AgentKey().id), now: Self.now)
        let peer = AgentKey().id
        // Learn the peer's address from a JOIN it sends through a connection of its own.
        var join = Plexus_Gossip()
        join.topic = TopicName.mesh
        join.join = .with { $0.agent = peer.bytes.asData; $0.address = "127.0.0.1:20001" }
        _ = state.handle(.peerUp(peer, ip: "127.0.0.1", bootstrap: false), now: Self.now)
        _ = state.handle(.received(join, from: peer), now: Self.now)
        _ = state.handle(.peerDown(peer), now: Self.now)

        var first = Plexus_Gossip()
        first.topic = TopicName.mesh
        first.neighbor = true
        let dial = state.handle(.unreachable(peer, [first]), now: Self.now)
        guard case .dial(let dialled, let address, let messages)? = dial.first else {
            Issue.record("no dial: \(dial)")
            return
        }
        #expect(dialled == peer && address == "127.0.0.1:20001" && messages == [first])
        // Meanwhile another message for it: held, not sent over a connection that may come
        // up first, and the peer is not counted as failed.
        var second = Plexus_Gossip()
        second.topic = TopicName.mesh
        second.disconnect = true
        #expect(state.handle(.unreachable(peer, [second]), now: Self.now).isEmpty)
        let after = state.handle(.dialed(peer, ok: true), now: Self.now)
        let sent = after.compactMap { action -> Plexus_Gossip? in
            if case .send(peer, let message) = action { return message }
            return nil
        }
        #expect(sent == [second], "the held message goes out once the dial's own went")
    }
}
