import Foundation
import PlexusClient
import PlexusCore
import Testing

/// Author deletes on real processes: `plexus delete` takes an entry off every node, also
/// off one that was stopped while the request went out and still held the entry, and the
/// entry never comes back from any peer, over sync rounds and a restart. Another author's
/// entry cannot be deleted.
@Suite(.serialized) struct DeleteSyncTests {
    @Test func aDeletedEntryDisappearsEverywhereAndNeverReturns() async throws {
        let fast = "  sync_interval_ms: 200\n"
        let authorDirectory = try MeshTests.directory(extra: fast)
        let relayDirectory = try MeshTests.directory(extra: fast)
        let lateDirectory = try MeshTests.directory(extra: fast)
        let author = try await ServeProcess(directory: authorDirectory)
        let relay = try await ServeProcess(directory: relayDirectory, arguments: ["--peer", author.meshAddress])
        var late = try await ServeProcess(directory: lateDirectory, arguments: ["--peer", relay.meshAddress])
        for node in [author, relay, late] { _ = try await node.client.subscribe("notes") }
        let authorID = try await author.client.identity().agentID
        var published: [EntryID] = []
        for index in 0..<5 {
            published.append(try await author.client.publish(PublishRequest(topic: "notes", content: .object(["text": .string("note \(index) secret\(index)")]))).id)
        }
        func held(_ node: ServeProcess) async throws -> Set<EntryID> {
            Set(try await node.client.feed(author: authorID.description, topic: "notes", type: "insight", limit: 100).entries.map(\.id))
        }
        for node in [relay, late] {
            try await MeshTests.eventually("every node holds the five notes", within: .seconds(60)) { try await held(node) == Set(published) }
        }

        // Refused: the relay cannot delete the author's entry …
        let data = { (node: ServeProcess) in ["--data", node.directory.path] }
        let refused = try await runPlexus(["delete", published[1].hex] + data(relay), home: relay.directory.path)
        #expect(refused.status == 1 && refused.stderr.contains("forbidden"), "\(refused.stderr)")
        #expect(try await held(relay).contains(published[1]))

        // … works for the author, while the late node is stopped and keeps its copy.
        _ = try await late.stop()
        let deleted = try await runPlexus(["delete", published[1].hex, "--json"] + data(author), home: author.directory.path)
        #expect(deleted.status == 0, "\(deleted.stderr)")
        let view = try JSONDecoder().decode(DeletionView.self, from: Data(deleted.stdout.utf8))
        #expect(view.deleted == [published[1]] && view.requests.count == 1)
        let remaining = Set(published).subtracting([published[1]])
        #expect(try await held(author) == remaining)
        try await MeshTests.eventually("the relay dropped it", within: .seconds(60)) { try await held(relay) == remaining }
        for node in [author, relay] {
            #expect(try await node.client.search("secret1").hits.isEmpty, "its text is not searchable")
            do {
                _ = try await node.client.entry(published[1])
                Issue.record("a deleted entry was still served")
            } catch {
                #expect(error.code == .notFound && error.message.contains("deleted by its author"), "\(error)")
            }
        }

        // The late node comes back holding the entry: the request reaches it and it drops
        // it too; nobody gets it back from it, over rounds and a restart.
        late = try await ServeProcess(directory: lateDirectory, arguments: ["--peer", relay.meshAddress])
        _ = try await late.client.subscribe("notes")
        try await MeshTests.eventually("the late node dropped it", within: .seconds(60)) { try await held(late) == remaining }
        func rounds(_ node: ServeProcess) async throws -> Int {
            try await node.client.sync().filter { $0.topic == "notes" }.reduce(0) { $0 + $1.rounds }
        }
        let start = try await rounds(relay)
        try await MeshTests.eventually("four more rounds ran", within: .seconds(60)) { try await rounds(relay) >= start + 4 }
        for node in [author, relay, late] { #expect(try await held(node) == remaining) }
        // The chain is intact: the entry after the deleted one is still linked everywhere.
        for node in [relay, late] { #expect(try await node.client.entry(published[2]).linked == true) }
        for node in [late, relay, author] { _ = try await node.stop() }
    }
}
