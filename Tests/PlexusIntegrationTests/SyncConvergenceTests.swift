import Foundation
import PlexusClient
import PlexusCore
import Testing

/// Anti-entropy on real processes after entries expired (PROTOCOL.md §8): a node that joins
/// late never held the expired entries, yet its summaries match the holder's, so once it
/// has every live entry the two stop asking and streaming.
@Suite(.serialized) struct SyncConvergenceTests {
    @Test func aNodeJoiningAfterEntriesExpiredCatchesUpAndSyncGoesQuiet() async throws {
        let fast = "  sync_interval_ms: 200\n"
        let holder = try await ServeProcess(directory: try MeshTests.directory(extra: fast))
        let holderID = try await holder.client.identity().agentID
        // Nine entries; every third lives one second.
        var live: [EntryID] = []
        for index in 0..<9 {
            let expiring = index % 3 == 1
            let entry = try await holder.client.publish(PublishRequest(
                content: .object(["n": .integer(Int64(index))]), ttlSeconds: expiring ? 1 : nil))
            if !expiring { live.append(entry.id) }
        }
        try await MeshTests.eventually("the holder dropped the expired entries") {
            try await holder.client.status().store.entries == live.count
        }

        let late = try await ServeProcess(directory: try MeshTests.directory(extra: fast), arguments: ["--peer", holder.meshAddress])
        try await MeshTests.eventually("the late node holds every live entry") {
            Set(try await late.client.feed(author: holderID.description).entries.map(\.id)) == Set(live)
        }
        func counters() async throws -> (sent: Int, wants: Int, received: Int, rounds: Int) {
            let held = try await holder.client.sync().filter { $0.topic == "mesh" }
            let joined = try await late.client.sync().filter { $0.topic == "mesh" }
            return (
                held.reduce(0) { $0 + $1.entriesSent }, joined.reduce(0) { $0 + $1.wantsSent },
                joined.reduce(0) { $0 + $1.entriesReceived },
                held.reduce(0) { $0 + $1.rounds })
        }
        // Two rounds to settle (the one that streamed and the one that finds them equal),
        // then three more opened (so at least two whole) in which nothing may be asked
        // for or sent.
        var settled = try await counters()
        try await MeshTests.eventually("two more rounds ran") { try await counters().rounds >= settled.rounds + 2 }
        settled = try await counters()
        #expect(settled.sent >= live.count && settled.received >= live.count)
        try await MeshTests.eventually("three more rounds ran") { try await counters().rounds >= settled.rounds + 3 }
        let after = try await counters()
        #expect(after.sent == settled.sent, "the holder kept streaming: \(settled.sent) → \(after.sent)")
        #expect(after.wants == settled.wants, "the late node kept asking: \(settled.wants) → \(after.wants)")
        #expect(after.received == settled.received)
        for node in [late, holder] { _ = try await node.stop() }
    }
}
