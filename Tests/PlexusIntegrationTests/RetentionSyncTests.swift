import Foundation
import PlexusClient
import PlexusCore
import Testing

/// Retention on real processes: a `max_count` policy added and run through the CLI keeps
/// exactly N entries of a topic, and the peer that still holds the rest does not send them
/// back, over several sync rounds, after the tombstones collapsed into the low-water mark,
/// and after both nodes restart.
@Suite(.serialized) struct RetentionSyncTests {
    @Test func aMaxCountPolicyKeepsNAndThePeerDoesNotSendTheRestBack() async throws {
        let fast = "  sync_interval_ms: 200\n"
        let holderDirectory = try MeshTests.directory(extra: fast)
        let keeperDirectory = try MeshTests.directory(extra: fast + "retention:\n  tombstone_max_age: 1s\n")
        var holder = try await ServeProcess(directory: holderDirectory)
        var keeper = try await ServeProcess(directory: keeperDirectory, arguments: ["--peer", holder.meshAddress])
        let holderID = try await holder.client.identity().agentID
        for node in [holder, keeper] { _ = try await node.client.subscribe("weather") }
        var published: [EntryID] = []
        for index in 0..<10 {
            published.append(try await holder.client.publish(PublishRequest(topic: "weather", content: .object(["n": .integer(Int64(index))]))).id)
        }
        func held(_ node: ServeProcess) async throws -> [EntryID] {
            try await node.client.feed(author: holderID.description, topic: "weather", limit: 100).entries.map(\.id)
        }
        try await MeshTests.eventually("the keeper holds all ten", within: .seconds(60)) { try await Set(held(keeper)) == Set(published) }

        let data = ["--data", keeper.directory.path]
        let added = try await runPlexus(["retention", "add", "--topic", "weather", "--max-count", "4", "--json"] + data, home: keeper.directory.path)
        #expect(added.status == 0, "\(added.stderr)")
        let run = try await runPlexus(["retention", "run", "--json"] + data, home: keeper.directory.path)
        #expect(run.status == 0, "\(run.stderr)")
        let swept = try JSONDecoder().decode(RetentionRunView.self, from: Data(run.stdout.utf8))
        #expect(swept.removed == 6)
        let kept = Set(published.suffix(4))
        #expect(try await Set(held(keeper)) == kept)
        let listed = try await runPlexus(["retention"] + data, home: keeper.directory.path)
        #expect(listed.stdout.contains("topic weather") && listed.stdout.contains("max count 4"), "\(listed.stdout)")

        func rounds() async throws -> Int {
            try await keeper.client.sync().filter { $0.topic == "weather" }.reduce(0) { $0 + $1.rounds }
        }
        // Several rounds with the holder, which still has all ten: nothing comes back.
        var start = try await rounds()
        try await MeshTests.eventually("four rounds ran", within: .seconds(60)) { try await rounds() >= start + 4 }
        #expect(try await Set(held(keeper)) == kept)
        #expect(try await Set(held(holder)) == Set(published))
        #expect(try await keeper.client.status().store.tombstones == 6)

        // Once a second old, the six tombstones collapse into the mark (seq 7): the store
        // keeps no trace per removed entry, and sync still does not fetch them.
        var collapsed = 0
        try await MeshTests.eventually("the tombstones collapsed", within: .seconds(30)) {
            collapsed += try await keeper.client.runRetention().collapsed
            return collapsed == 6
        }
        #expect(try await keeper.client.status().store.tombstones == 0)
        start = try await rounds()
        try await MeshTests.eventually("four rounds ran after the collapse", within: .seconds(60)) { try await rounds() >= start + 4 }
        #expect(try await Set(held(keeper)) == kept)

        // Both restart: the mark holds, and sync stays as it was.
        _ = try await keeper.stop()
        _ = try await holder.stop()
        holder = try await ServeProcess(directory: holderDirectory)
        keeper = try await ServeProcess(directory: keeperDirectory, arguments: ["--peer", holder.meshAddress])
        for node in [holder, keeper] { _ = try await node.client.subscribe("weather") }
        start = 0
        try await MeshTests.eventually("four rounds ran after the restart", within: .seconds(60)) { try await rounds() >= start + 4 }
        #expect(try await Set(held(keeper)) == kept)
        let afterRestart = try await keeper.client.sync().filter { $0.topic == "weather" }
        #expect(afterRestart.reduce(0) { $0 + $1.entriesReceived } == 0)
        #expect(afterRestart.reduce(0) { $0 + $1.wantsSent } == 0, "nothing is asked for below the mark")
        // A new entry still arrives: replication goes on around what was dropped.
        let fresh = try await holder.client.publish(PublishRequest(topic: "weather", content: .object(["n": .integer(10)]))).id
        try await MeshTests.eventually("the new entry arrives", within: .seconds(60)) { try await held(keeper).contains(fresh) }
        #expect(try await Set(held(keeper)) == kept.union([fresh]))
        for node in [keeper, holder] { _ = try await node.stop() }
    }
}
