import Foundation
import PlexusClient
import PlexusCore
import PlexusNet
import Testing

/// Entries spreading between real `plexus serve` processes: broadcast over the gossip
/// layer, and anti-entropy for nodes that were away or joined late.
@Suite(.serialized) struct ReplicationTests {
    /// A node that reconciles with its neighbours every 500 ms.
    static func directory() throws -> TempDirectory {
        try MeshTests.directory(extra: "  sync_interval_ms: 500\n")
    }

    /// Nodes in a line: each dials only the previous one.
    static func line(_ count: Int) async throws -> [ServeProcess] {
        var nodes: [ServeProcess] = []
        for index in 0..<count {
            let arguments = index == 0 ? [] : ["--peer", nodes[index - 1].meshAddress]
            nodes.append(try await ServeProcess(directory: try directory(), arguments: arguments))
        }
        return nodes
    }

    static func publish(_ count: Int, on node: ServeProcess, topic: String? = nil, label: String) async throws -> [EntryID] {
        var ids: [EntryID] = []
        for index in 0..<count {
            let request = PublishRequest(topic: topic, content: .object(["text": .string("\(label) \(index)")]))
            ids.append(try await node.client.publish(request).id)
        }
        return ids
    }

    /// Every entry id a node holds (at most 5,000).
    static func held(by node: ServeProcess, topic: String? = nil) async throws -> Set<EntryID> {
        var ids: Set<EntryID> = []
        var cursor: Int64 = 0
        for _ in 0..<10 {
            let page = try await node.client.feed(topic: topic, since: cursor, limit: 500)
            ids.formUnion(page.entries.map(\.id))
            guard page.hasMore, let next = page.nextCursor else { break }
            cursor = next
        }
        return ids
    }

    @Test func entriesPublishedAtEitherEndOfALineReachEveryNode() async throws {
        let nodes = try await Self.line(5)
        let first = try await nodes[0].client.publish(PublishRequest(content: .object(["text": .string("from the first node")])))
        let last = try await nodes[4].client.publish(PublishRequest(content: .object(["text": .string("from the last node")])))

        try await MeshTests.eventually("both entries on every node", within: .seconds(30)) {
            for node in nodes {
                let ids = try await Self.held(by: node)
                guard ids.contains(first.id), ids.contains(last.id) else { return false }
            }
            return true
        }
        // What arrived was verified and stored as the author signed it, and is searchable.
        let copy = try await nodes[4].client.entry(first.id)
        #expect(copy.signature == first.signature && copy.author == first.author)
        #expect(try await nodes[2].client.search("last").hits.map(\.entry.id) == [last.id])
        for node in nodes { _ = try await node.stop() }
    }

    @Test func aSixthNodeJoiningLaterReceivesTheWholeHistory() async throws {
        let nodes = try await Self.line(5)
        let history = Set(try await Self.publish(150, on: nodes[0], label: "early first")
            + (try await Self.publish(150, on: nodes[4], label: "early last")))
        try await MeshTests.eventually("the history on the middle node", within: .seconds(30)) {
            try await Self.held(by: nodes[2]).isSuperset(of: history)
        }

        // Pushed before it existed: only anti-entropy can bring these to the newcomer.
        let late = try await ServeProcess(directory: try Self.directory(), arguments: ["--peer", nodes[2].meshAddress])
        let after = try await Self.publish(1, on: nodes[4], label: "after the join")
        try await MeshTests.eventually("the whole history on the newcomer", within: .seconds(30)) {
            try await Self.held(by: late).isSuperset(of: history.union(after))
        }
        let sessions = try await late.client.sync()
        #expect(sessions.contains { $0.topic == "mesh" && $0.entriesReceived > 0 })
        #expect(try await late.client.status().store.entries == history.count + after.count)
        for node in nodes + [late] { _ = try await node.stop() }
    }

    @Test func aKilledNodeCatchesUpAfterRestart() async throws {
        let nodes = try await Self.line(3)
        let before = Set(try await Self.publish(20, on: nodes[0], label: "before"))
        try await MeshTests.eventually("entries on the last node", within: .seconds(30)) {
            try await Self.held(by: nodes[2]).isSuperset(of: before)
        }
        let directory = nodes[2].directory
        _ = try await nodes[2].stop(signal: SIGKILL)

        let missed = Set(try await Self.publish(200, on: nodes[0], label: "while away"))
        let restarted = try await ServeProcess(directory: directory, arguments: ["--peer", nodes[1].meshAddress])
        try await MeshTests.eventually("the restarted node catches up", within: .seconds(30)) {
            try await Self.held(by: restarted).isSuperset(of: before.union(missed))
        }
        #expect(try await restarted.client.status().store.entries == before.count + missed.count)
        for node in [nodes[0], nodes[1], restarted] { _ = try await node.stop() }
    }

    @Test func topicEntriesReachSubscribersOnlyAndALateSubscriberGetsTheirHistory() async throws {
        let nodes = try await Self.line(3)
        _ = try await nodes[0].client.subscribe("research")
        _ = try await nodes[1].client.subscribe("research")
        try await MeshTests.eventually("a and b are research neighbours") {
            try await nodes[0].client.topics().first { $0.name == "research" }?.neighbors.isEmpty == false
        }
        let research = Set(try await Self.publish(5, on: nodes[0], topic: "research", label: "finding"))
        let marker = try await Self.publish(1, on: nodes[0], label: "mesh marker")
        try await MeshTests.eventually("the research entries on b and the marker on c") {
            let onB = try await Self.held(by: nodes[1], topic: "research")
            let onC = try await Self.held(by: nodes[2])
            return onB.isSuperset(of: research) && onC.isSuperset(of: marker)
        }
        // c is not in the topic: the marker, published after the research entries, reached it; they did not.
        #expect(try await Self.held(by: nodes[2], topic: "research").isEmpty)

        let topics = try await nodes[2].client.subscribe("research")
        #expect(topics.map(\.name) == ["mesh", "research"])
        try await MeshTests.eventually("c receives the topic's history") {
            try await Self.held(by: nodes[2], topic: "research") == research
        }
        for node in nodes { _ = try await node.stop() }
    }

    @Test func membersOfATopicFindEachOtherThroughANodeThatIsNotInIt() async throws {
        // a - b - c: only a and c are in "research"; b must introduce them.
        let nodes = try await Self.line(3)
        _ = try await nodes[0].client.subscribe("research")
        _ = try await nodes[2].client.subscribe("research")
        let cID = try await nodes[2].client.identity().agentID
        try await MeshTests.eventually("a and c are research neighbours", within: .seconds(30)) {
            try await nodes[0].client.topics().first { $0.name == "research" }?.neighbors.contains(cID) == true
        }
        let research = Set(try await Self.publish(3, on: nodes[0], topic: "research", label: "finding"))
        try await MeshTests.eventually("c receives a's research entries") {
            try await Self.held(by: nodes[2], topic: "research").isSuperset(of: research)
        }
        #expect(try await Self.held(by: nodes[1], topic: "research").isEmpty)
        for node in nodes { _ = try await node.stop() }
    }

    @Test func aNodeOutsideATopicAnswersAQueryWithTheMembersItKnows() async throws {
        // b is not in "research"; c, connected to b, is. A peer asking b learns c's address.
        let nodes = try await Self.line(2)
        _ = try await nodes[1].client.subscribe("research")
        let cID = try await nodes[1].client.identity().agentID
        let asker = try await GossipAbuseTests.Adversary(dialling: nodes[0].meshAddress)
        let events = asker.gossip
        let answer = Task { () -> Plexus_PeerList? in
            for await event in events {
                if case .frame(_, let frame) = event, case .gossip(let gossip)? = frame.kind,
                   gossip.topic == "research", case .topicMembers(let list)? = gossip.kind {
                    return list
                }
            }
            return nil
        }
        // Asked again every 200 ms (bounded) until b has heard c's topics and answers.
        let origin = Plexus_PeerRef.with { $0.agent = asker.key.id.bytes.asData; $0.address = "127.0.0.1:9" }
        let asking = Task {
            for _ in 0..<100 where !Task.isCancelled {
                _ = asker.send(topic: "research") { $0.topicQuery = .with { $0.origin = origin; $0.ttl = 3 } }
                try await Task.sleep(for: .milliseconds(200))
            }
            answer.cancel()
        }
        let members = await answer.value
        asking.cancel()
        let named = members?.peers.compactMap { AgentID(bytes: $0.agent) } ?? []
        #expect(named.contains(cID))
        #expect(members?.peers.first { AgentID(bytes: $0.agent) == cID }?.address == nodes[1].meshAddress)
        await asker.manager.shutdown()
        for node in nodes { _ = try await node.stop() }
    }

    @Test func aNodeStoresOnlyTheAuthorsItFollowsButForwardsEveryone() async throws {
        let nodes = try await Self.line(3)
        let aID = try await nodes[0].client.identity().agentID
        let follows = try await nodes[1].client.follow(aID)
        #expect(follows.authors == [aID] && !follows.storesAll)

        let fromA = Set(try await Self.publish(3, on: nodes[0], label: "followed"))
        let fromC = Set(try await Self.publish(3, on: nodes[2], label: "not followed"))
        try await MeshTests.eventually("c's entries forwarded through b to a, a's stored on b") {
            let onA = try await Self.held(by: nodes[0])
            let onB = try await Self.held(by: nodes[1])
            return onA.isSuperset(of: fromC) && onB.isSuperset(of: fromA)
        }
        #expect(try await Self.held(by: nodes[1]).isDisjoint(with: fromC))

        // Unfollowing the last author stores everyone again; anti-entropy fetches what was skipped.
        #expect(try await nodes[1].client.unfollow(aID).storesAll)
        try await MeshTests.eventually("b fetches c's entries") {
            try await Self.held(by: nodes[1]).isSuperset(of: fromC)
        }
        for node in nodes { _ = try await node.stop() }
    }

    @Test func aLocalListenerLongPollingTheFeedHearsOfAReplicatedEntry() async throws {
        let nodes = try await Self.line(2)
        let cursor = try await nodes[1].client.status().store.latestCursor
        // Nothing arrives: the read waits its full time and answers with an empty page.
        let started = ContinuousClock.now
        let empty = try await nodes[1].client.feed(since: cursor, waitMs: 300)
        #expect(empty.entries.isEmpty && ContinuousClock.now - started >= .milliseconds(300))

        let client = nodes[1].client
        let listener = Task { try await client.feed(since: cursor, waitMs: 30_000) }
        let published = try await nodes[0].client.publish(PublishRequest(content: .object(["text": .string("wake up")])))
        let page = try await listener.value
        #expect(page.entries.map(\.id) == [published.id])
        #expect(page.entries.first?.receivedMs ?? 0 >= published.receivedMs)
        for node in nodes { _ = try await node.stop() }
    }
}
