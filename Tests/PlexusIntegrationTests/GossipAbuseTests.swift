import Foundation
import Logging
import PlexusClient
import PlexusCore
import PlexusNet
import Testing

/// A peer that completes a genuine handshake and then sends bad gossip to a real node: the
/// node refuses what is invalid, records forks as proof, drops the peer once it keeps
/// misbehaving, and goes on replicating with an honest peer.
@Suite(.serialized) struct GossipAbuseTests {
    /// A mesh peer driven by the test, speaking Gossip frames directly.
    struct Adversary {
        let key = AgentKey()
        let manager: ConnectionManager
        let node: AgentID
        /// What the node sends this peer on the gossip and task channels.
        let gossip: MeshEventStream
        let tasks: MeshEventStream

        init(dialling address: String) async throws {
            manager = ConnectionManager(identity: key, config: MeshConfig(listenHost: nil), logger: Logger(label: "adversary"))
            gossip = manager.register([.gossip], peerEvents: true)
            tasks = manager.register([.task])
            let target = try HostPort.parse(address, defaultHost: "127.0.0.1")
            node = try #require(try await manager.connect(host: target.host, port: target.port).agentID)
        }

        func send(topic: String = "mesh", _ fill: (inout Plexus_Gossip) -> Void) -> Bool {
            var gossip = Plexus_Gossip()
            gossip.topic = topic
            fill(&gossip)
            return manager.send([Plexus_Frame.with { $0.gossip = gossip }], to: node)
        }

        func push(_ encoded: Data) -> Bool {
            send { $0.push = .with { $0.entry = encoded; $0.round = 1 } }
        }

        /// An entry of this peer's own feed; `padding` bytes of text make it as large as wanted.
        func entry(seq: UInt64, prev: EntryID?, text: String, padding: Int = 0) throws -> SignedEntry {
            let content = JSONValue.object(["text": .string(text + String(repeating: "x", count: padding))])
            let body = try EntryDraft(content: content).body(seq: seq, prev: prev, timeMs: 1_700_000_000_000)
            return try SignedEntry(signing: body, with: key, limits: Limits(maxBodyBytes: 1 << 20))
        }
    }

    @Test func forgedForkedOversizedReplayedAndFloodedGossipIsContained() async throws {
        // The announcement budget under test is set low, so that the flood exceeds it however
        // slowly this machine lets the adversary send.
        let target = try await ServeProcess(directory: try MeshTests.directory(extra: "  sync_interval_ms: 500\n  ihave_rate: 100\n  ihave_burst: 1000\n"))
        let honest = try await ServeProcess(directory: try ReplicationTests.directory(), arguments: ["--peer", target.meshAddress])
        let adversary = try await Adversary(dialling: target.meshAddress)
        let author = adversary.key.id.description
        #expect(adversary.send { $0.join = .with { $0.agent = adversary.key.id.bytes.asData } })
        try await MeshTests.eventually("the adversary is a mesh neighbour of the target") {
            try await target.client.topics().first { $0.name == "mesh" }?.neighbors.contains(adversary.key.id) == true
        }

        // A valid entry is stored and forwarded; replays of it change nothing.
        let first = try adversary.entry(seq: 1, prev: nil, text: "genuine")
        for _ in 0..<5 { #expect(adversary.push(first.encoded())) }
        // A forged signature and an oversized body are refused.
        let second = try adversary.entry(seq: 2, prev: first.id, text: "second")
        var forged = Plexus_Entry()
        forged.body = second.body
        forged.signature = Data(second.signature.reversed())
        #expect(adversary.push(try forged.serializedData()))
        let oversized = try adversary.entry(seq: 2, prev: first.id, text: "big", padding: 70_000)
        #expect(adversary.push(oversized.encoded()))
        #expect(adversary.push(second.encoded()))
        // Forwarded before the fork below: a node that sees both sides of a fork refuses the
        // author's entries from then on (PROTOCOL.md §2.3), so one that got the fork's two
        // entries before `second` (by IHAVE or anti-entropy, in any order) would not take it.
        try await MeshTests.eventually("the honest peer received the valid entries") {
            Set(try await honest.client.feed(author: author, limit: 100).entries.map(\.id)).isSuperset(of: [first.id, second.id])
        }
        // Two different entries at seq 3: a fork, kept as proof.
        let third = try adversary.entry(seq: 3, prev: second.id, text: "third")
        let conflicting = try adversary.entry(seq: 3, prev: second.id, text: "third, differently")
        #expect(adversary.push(third.encoded()))
        #expect(adversary.push(conflicting.encoded()))

        try await MeshTests.eventually("the fork is recorded") {
            try await target.client.forks().contains { $0.author == adversary.key.id && $0.seq == 3 }
        }
        // The first delivered is kept (deliveries reach the writer in the order they came);
        // the other is refused.
        let stored = try await target.client.feed(author: author, limit: 100).entries.map(\.id)
        #expect(
            Set(stored) == [first.id, second.id, third.id],
            "stored \(stored.map { $0.hex.prefix(8) }); first \(first.id.hex.prefix(8)), second \(second.id.hex.prefix(8)), third \(third.id.hex.prefix(8)), conflicting \(conflicting.id.hex.prefix(8))")
        #expect((try? await target.client.entry(oversized.id)) == nil)

        // A flood of announcements of entries that do not exist: the peer is dropped. Each
        // frame is offered until the connection takes it (sends are refused while its
        // queue is full) or the node has closed it.
        flood: for _ in 0..<200 {
            var attempts = 0
            while !adversary.send({ gossip in
                gossip.ihave = .with { list in
                    list.items = (0..<256).map { _ in .with { $0.id = Data((0..<32).map { _ in UInt8.random(in: 0...255) }) } }
                }
            }) {
                attempts += 1
                if attempts > 100 { break flood }
                try await Task.sleep(for: .milliseconds(2))
            }
        }
        try await MeshTests.eventually("the flooding peer is disconnected") {
            try await !target.client.connectedPeers().contains { $0.agentID == adversary.key.id }
        }

        // Replication between the honest nodes goes on, both ways.
        let fromHonest = try await honest.client.publish(PublishRequest(content: .object(["text": .string("still here")])))
        let fromTarget = try await target.client.publish(PublishRequest(content: .object(["text": .string("and here")])))
        try await MeshTests.eventually("honest entries cross both ways") {
            let onTarget = try? await target.client.entry(fromHonest.id)
            let onHonest = try? await honest.client.entry(fromTarget.id)
            return onTarget != nil && onHonest != nil
        }
        await adversary.manager.shutdown()
        for node in [target, honest] { _ = try await node.stop() }
    }
}
