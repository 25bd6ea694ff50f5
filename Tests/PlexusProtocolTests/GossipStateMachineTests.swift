import Testing
@testable import PlexusProtocol

/// HyParView and PlumTree driven message by message, without a network.
@Suite struct GossipStateMachineTests {
    typealias Tree = PlumTree<Int, Int, String, String>
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
        _ = tree.handle(.prune(origin: "a"), from: 2, now: .zero)  // 2 becomes lazy for a
        let actions = tree.handle(.gossip(id: 7, payload: "x", round: 3, origin: "a"), from: 9, now: .zero)
        #expect(Self.delivered(actions) == [7])
        // Eager push to 1 (and back to nobody else); 2 only hears of it in the next IHAVE batch.
        #expect(Self.sends(actions).map(\.0).sorted() == [1])
        let later = Self.sends(tree.tick(now: .milliseconds(60)))
        #expect(later.count == 1 && later[0].0 == 2)
        if case .ihave(let list) = later[0].1 { #expect(list.map(\.id) == [7]) } else { Issue.record("expected IHAVE") }
    }

    @Test func aPruneDemotesTheLinkForItsOriginOnly() {
        var tree = Tree()
        tree.neighborUp(1)
        tree.neighborUp(2)
        for (id, origin) in [(1, "a"), (2, "b")] {
            #expect(Self.sends(tree.handle(.gossip(id: id, payload: "x", round: 1, origin: origin), from: 1, now: .zero)).map(\.0) == [2])
        }
        _ = tree.handle(.prune(origin: "a"), from: 2, now: .zero)
        let fromA = tree.handle(.gossip(id: 3, payload: "x", round: 1, origin: "a"), from: 1, now: .zero)
        let fromB = tree.handle(.gossip(id: 4, payload: "y", round: 1, origin: "b"), from: 1, now: .zero)
        #expect(Self.sends(fromA).isEmpty)
        // b's tree still pushes to 2: a PRUNE for a's messages said nothing about b's.
        #expect(Self.sends(fromB).map(\.0) == [2])
        #expect(tree.lazy(for: "a") == [2] && tree.eager(for: "b") == [1, 2])
    }

    @Test func aDuplicateFromAnEagerNeighbourPrunesThatLinkForTheMessagesOrigin() {
        var tree = Tree()
        tree.neighborUp(1)
        tree.neighborUp(2)
        _ = tree.handle(.gossip(id: 9, payload: "x", round: 1, origin: "b"), from: 1, now: .zero)
        _ = tree.handle(.gossip(id: 1, payload: "x", round: 1, origin: "a"), from: 1, now: .zero)
        let duplicate = tree.handle(.gossip(id: 1, payload: "x", round: 2, origin: "a"), from: 2, now: .zero)
        #expect(Self.delivered(duplicate).isEmpty)
        let sent = Self.sends(duplicate)
        #expect(sent.count == 1 && sent[0].0 == 2)
        if case .prune(let origin) = sent.first?.1 { #expect(origin == "a") } else { Issue.record("expected PRUNE") }
        #expect(tree.lazy(for: "a").contains(2) && !tree.eager(for: "a").contains(2))
        #expect(tree.eager(for: "b").contains(2))
    }

    @Test func aMissingMessageIsGraftedFromItsAnnouncerAfterTheTimeout() {
        var tree = Tree()
        tree.neighborUp(5)
        _ = tree.handle(.prune(origin: "a"), from: 5, now: .zero)
        _ = tree.handle(.ihave([.init(id: 42, round: 2)]), from: 5, now: .zero)
        #expect(Self.sends(tree.tick(now: .milliseconds(50))).filter { if case .graft = $0.1 { return true } else { return false } }.isEmpty)
        let grafts = Self.sends(tree.tick(now: .milliseconds(100)))
        #expect(grafts.count == 1 && grafts[0].0 == 5)
        // The grafted peer answers from its cache, and pushes its origin's messages from now on.
        var source = Tree()
        source.neighborUp(8)
        _ = source.handle(.prune(origin: "a"), from: 8, now: .zero)
        _ = source.broadcast(id: 42, payload: "payload", origin: "a", now: .zero)
        #expect(!source.eager(for: "a").contains(8))
        let answer = Self.sends(source.handle(.graft(id: 42, round: 2, origin: nil), from: 8, now: .zero))
        guard case .gossip(let id, let payload, let round, let origin)? = answer.first?.1 else {
            Issue.record("graft was not answered with the message")
            return
        }
        #expect(id == 42 && payload == "payload" && origin == "a")
        #expect(source.eager(for: "a").contains(8))
        // The answer, a first copy from the announcer, makes the link eager for a here too.
        _ = tree.handle(.gossip(id: id, payload: payload, round: round, origin: origin), from: 5, now: .milliseconds(110))
        #expect(tree.eager(for: "a").contains(5))
    }

    @Test func aReceivedMessageCancelsItsGraft() {
        var tree = Tree()
        tree.neighborUp(5)
        tree.neighborUp(6)
        _ = tree.handle(.prune(origin: "a"), from: 5, now: .zero)
        _ = tree.handle(.ihave([.init(id: 1, round: 2)]), from: 5, now: .zero)
        _ = tree.handle(.gossip(id: 1, payload: "x", round: 2, origin: "a"), from: 6, now: .milliseconds(10))
        let later = Self.sends(tree.tick(now: .seconds(1)))
        #expect(later.allSatisfy { if case .graft = $0.1 { return false } else { return true } })
    }

    /// A node without per-origin trees sends PRUNE and GRAFT without an origin: they apply
    /// to every origin's tree, including those of origins not heard from yet.
    @Test func aPruneOrGraftWithoutAnOriginAppliesToEveryTree() {
        var tree = Tree()
        tree.neighborUp(1)
        tree.neighborUp(2)
        _ = tree.handle(.gossip(id: 1, payload: "x", round: 1, origin: "a"), from: 1, now: .zero)
        _ = tree.handle(.prune(origin: nil), from: 2, now: .zero)
        #expect(!tree.eager(for: "a").contains(2) && !tree.eager(for: "new").contains(2))
        _ = tree.handle(.graft(id: nil, round: 0, origin: nil), from: 2, now: .zero)
        #expect(tree.eager(for: "a").contains(2) && tree.eager(for: "new").contains(2))
    }

    /// Trees are kept for at most `maxOrigins` origins; a forgotten origin's tree starts
    /// again from every neighbour eager.
    @Test func treesOfTheLeastRecentlyHeardOriginsAreForgotten() {
        var config = Tree.Config()
        config.maxOrigins = 8
        var tree = Tree(config: config)
        tree.neighborUp(1)
        tree.neighborUp(2)
        _ = tree.handle(.prune(origin: "old"), from: 2, now: .zero)
        _ = tree.handle(.gossip(id: 1, payload: "x", round: 1, origin: "o1"), from: 1, now: .seconds(1))
        _ = tree.handle(.graft(id: 1, round: 1, origin: nil), from: 2, now: .seconds(1))  // 2 eager for o1
        #expect(tree.eager(for: "old") == [1])
        for index in 2...7 {
            _ = tree.handle(.gossip(id: index, payload: "x", round: 1, origin: "o\(index)"), from: 1, now: .seconds(index))
        }
        #expect(tree.eager(for: "old") == [1])  // eight trees: still remembered
        _ = tree.handle(.gossip(id: 8, payload: "x", round: 1, origin: "o8"), from: 1, now: .seconds(8))
        #expect(tree.eager(for: "old") == [1, 2])
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
