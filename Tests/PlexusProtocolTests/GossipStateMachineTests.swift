import Testing
@testable import PlexusProtocol

/// HyParView and PlumTree driven message by message, without a network.
@Suite struct GossipStateMachineTests {
    typealias Tree = PlumTree<Int, Int, String>
    typealias View = HyParView<Int>

    static func sends(_ actions: [Tree.Action]) -> [(Int, Tree.Message)] {
        actions.compactMap { if case .send(let to, let message) = $0 { return (to, message) } else { return nil } }
    }

    static func delivered(_ actions: [Tree.Action]) -> [Int] {
        actions.compactMap { if case .deliver(let id, _, _) = $0 { return id } else { return nil } }
    }

    @Test func newMessagesArePushedEagerlyAndAnnouncedLazily() {
        var tree = Tree()
        tree.neighborUp(1)
        tree.neighborUp(2)
        _ = tree.handle(.prune, from: 2, now: .zero)  // 2 becomes lazy
        let actions = tree.handle(.gossip(id: 7, payload: "x", round: 3), from: 9, now: .zero)
        #expect(Self.delivered(actions) == [7])
        // Eager push to 1 (and back to nobody else); 2 only hears of it in the next IHAVE batch.
        #expect(Self.sends(actions).map(\.0).sorted() == [1])
        let later = Self.sends(tree.tick(now: .milliseconds(60)))
        #expect(later.count == 1 && later[0].0 == 2)
        if case .ihave(let list) = later[0].1 { #expect(list.map(\.id) == [7]) } else { Issue.record("expected IHAVE") }
    }

    @Test func aDuplicateFromAnEagerNeighbourPrunesThatLink() {
        var tree = Tree()
        tree.neighborUp(1)
        tree.neighborUp(2)
        _ = tree.handle(.gossip(id: 1, payload: "x", round: 1), from: 1, now: .zero)
        let duplicate = tree.handle(.gossip(id: 1, payload: "x", round: 2), from: 2, now: .zero)
        #expect(Self.delivered(duplicate).isEmpty)
        #expect(Self.sends(duplicate).count == 1)
        #expect(tree.lazy.contains(2) && !tree.eager.contains(2))
    }

    @Test func aMissingMessageIsGraftedFromItsAnnouncerAfterTheTimeout() {
        var tree = Tree()
        tree.neighborUp(5)
        _ = tree.handle(.prune, from: 5, now: .zero)
        _ = tree.handle(.ihave([.init(id: 42, round: 2)]), from: 5, now: .zero)
        #expect(Self.sends(tree.tick(now: .milliseconds(50))).filter { if case .graft = $0.1 { return true } else { return false } }.isEmpty)
        let grafts = Self.sends(tree.tick(now: .milliseconds(100)))
        #expect(grafts.count == 1 && grafts[0].0 == 5)
        #expect(tree.eager.contains(5))
        // The grafted peer answers from its cache.
        var source = Tree()
        source.neighborUp(8)
        _ = source.broadcast(id: 42, payload: "payload", now: .zero)
        let answer = Self.sends(source.handle(.graft(id: 42, round: 2), from: 8, now: .zero))
        if case .gossip(let id, let payload, _)? = answer.first?.1 {
            #expect(id == 42 && payload == "payload")
        } else {
            Issue.record("graft was not answered with the message")
        }
    }

    @Test func aReceivedMessageCancelsItsGraft() {
        var tree = Tree()
        tree.neighborUp(5)
        tree.neighborUp(6)
        _ = tree.handle(.prune, from: 5, now: .zero)
        _ = tree.handle(.ihave([.init(id: 1, round: 2)]), from: 5, now: .zero)
        _ = tree.handle(.gossip(id: 1, payload: "x", round: 2), from: 6, now: .milliseconds(10))
        let later = Self.sends(tree.tick(now: .seconds(1)))
        #expect(later.allSatisfy { if case .graft = $0.1 { return false } else { return true } })
    }

    @Test func joinFillsTheActiveViewAndForwardsTheJoiner() {
        var contact = View(me: 0, seed: 1)
        for peer in 1...3 { _ = contact.join(via: peer) }
        let actions = contact.handle(.join, from: 9, now: .zero)
        #expect(contact.active.contains(9))
        let forwarded = actions.compactMap { action -> Int? in
            if case .send(let to, .forwardJoin(peer: 9, ttl: 6)) = action { return to } else { return nil }
        }
        #expect(Set(forwarded) == [1, 2, 3])
    }

    @Test func aFullActiveViewEvictsWithADisconnect() {
        var view = View(me: 0, seed: 2)
        for peer in 1...5 { _ = view.join(via: peer) }
        let actions = view.handle(.neighbor(highPriority: true), from: 6, now: .zero)
        #expect(view.active.count == 5 && view.active.contains(6))
        let evicted = actions.compactMap { action -> Int? in
            if case .send(let to, .disconnect) = action { return to } else { return nil }
        }
        #expect(evicted.count == 1)
        #expect(view.passive.contains(evicted[0]))
        // A low-priority request to a full view is refused.
        let refused = view.handle(.neighbor(highPriority: false), from: 7, now: .zero)
        #expect(refused.contains(.send(to: 7, .neighborReply(accepted: false))))
    }

    @Test func aFailedNeighbourIsReplacedFromThePassiveView() {
        var view = View(me: 0, seed: 3)
        _ = view.join(via: 1)
        _ = view.handle(.shuffleReply(peers: [7, 8]), from: 1, now: .zero)
        let actions = view.peerFailed(1, now: .seconds(1))
        #expect(actions.contains(.neighborDown(1)))
        let asked = actions.compactMap { action -> Int? in
            if case .send(let to, .neighbor(highPriority: true)) = action { return to } else { return nil }
        }
        #expect(asked.count == 1 && [7, 8].contains(asked[0]))
        // The answer brings it into the active view.
        _ = view.handle(.neighborReply(accepted: true), from: asked[0], now: .seconds(1))
        #expect(view.active == [asked[0]])
    }

    @Test func anUnderFullViewWhosePassivePeersAllRefusedAsksAtHighPriority() {
        var view = View(me: 0, seed: 4)
        for peer in 1...3 { _ = view.join(via: peer) }
        _ = view.handle(.shuffleReply(peers: [7, 8]), from: 1, now: .zero)
        func requests(_ actions: [View.Action]) -> [(Int, Bool)] {
            actions.compactMap { if case .send(let to, .neighbor(let high)) = $0 { return (to, high) } else { return nil } }
        }
        // Under-full with neighbours: the passive peers are asked at low priority, once a
        // second, and refuse; only after `escalateAfter` is a request high priority.
        var low: Set<Int> = []
        var escalated: (at: Duration, peer: Int)?
        var now = Duration.seconds(1)
        while escalated == nil && now <= .seconds(20) {
            let sent = requests(view.tick(now: now))
            #expect(sent.count == 1)
            if let (peer, high) = sent.first {
                if high { escalated = (now, peer) } else { low.insert(peer) }
                if !high { _ = view.handle(.neighborReply(accepted: false), from: peer, now: now) }
            }
            now += .seconds(1)
        }
        #expect(low == [7, 8])
        #expect(escalated?.at == view.config.escalateAfter + .seconds(1))
        guard let escalated else { return }
        _ = view.handle(.neighborReply(accepted: true), from: escalated.peer, now: escalated.at)
        #expect(view.active.count == 4)
        // After that the remaining passive peer is asked at low priority again.
        let next = requests(view.tick(now: escalated.at + .seconds(1)))
        #expect(next.count == 1 && next[0].1 == false)
    }
}
