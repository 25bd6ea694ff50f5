import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PlexusClient
import PlexusCore
import Testing

/// Entries signed elsewhere, through `POST /v1/entries` and `plexus submit`: valid ones are
/// stored, forged and forked ones refused with their codes, nothing else changes.
@Suite struct SubmitEntryTests {
    let author = AgentKey()

    func entry(seq: UInt64, prev: EntryID?, text: String) throws -> SignedEntry {
        let draft = EntryDraft(content: .object(["text": .string(text)]))
        return try SignedEntry(signing: try draft.body(seq: seq, prev: prev, timeMs: 1), with: author)
    }

    func submit(_ node: ServeProcess, _ bytes: Data) async throws -> HTTPAPITests.Reply {
        try await HTTPAPITests.request(
            node, .POST, "/v1/entries", token: node.token,
            body: #"{"entry":""# + bytes.base64EncodedString() + #""}"#)
    }

    @Test func forgedForkedAndMalformedEntriesAreRefusedWithTheirCodes() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        let first = try entry(seq: 1, prev: nil, text: "first")

        let stored = try await submit(node, first.encoded())
        #expect(stored.status == 201)
        #expect(stored.data?["created"] as? Bool == true)
        let again = try await submit(node, first.encoded())
        #expect(again.status == 200)
        #expect(again.data?["created"] as? Bool == false)

        // Signed by someone else in the author's name.
        let forgedSignature = AgentKey().sign(domain: .entry, first.body)
        var forged = Plexus_Entry()
        forged.body = first.body
        forged.signature = forgedSignature
        let badSignature = try await submit(node, try forged.serializedBytes())
        #expect(badSignature.status == 422)
        #expect(badSignature.code == "badSignature")

        let garbage = try await submit(node, Data([0x0a, 0xff, 0x01]))
        #expect(garbage.status == 422)
        #expect(garbage.code == "malformedEntry")
        let notBase64 = try await HTTPAPITests.request(node, .POST, "/v1/entries", token: node.token, body: #"{"entry":"***"}"#)
        #expect(notBase64.code == "invalidArgument")

        // A second, different seq 1 from the same author is a fork: refused, kept as proof.
        let conflicting = try entry(seq: 1, prev: nil, text: "rewritten history")
        let fork = try await submit(node, conflicting.encoded())
        #expect(fork.status == 409)
        #expect(fork.code == "forkDetected")
        let forks = try await node.client.forks()
        #expect(forks.count == 1)
        #expect(forks.first?.heldID == first.id)
        #expect(forks.first?.conflictingID == conflicting.id)
        // The proof carries both signed entries; each verifies on its own.
        let proof = try #require(forks.first)
        #expect(try SignedEntry(encoded: try #require(Data(base64Encoded: proof.conflictingEntry))).id == conflicting.id)

        let later = try await submit(node, try entry(seq: 2, prev: first.id, text: "after the fork").encoded())
        #expect(later.status == 409)
        #expect(later.code == "authorForked")

        #expect(try await node.client.status().store.entries == 1)
        _ = try await node.stop()
    }

    @Test func outOfOrderEntriesAreUnlinkedUntilTheGapFillsAndTheCLISubmits() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        let first = try entry(seq: 1, prev: nil, text: "one")
        let second = try entry(seq: 2, prev: first.id, text: "two")

        let early = try await node.client.submit(entry: second.encoded())
        #expect(early.entry.linked == false)
        let file = directory.file("entry.b64")
        try Data(first.encoded().base64EncodedString().utf8).write(to: file)
        let cli = try await runPlexus(["submit", "--data", directory.path, file.path], home: directory.path)
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(cli.stdout.hasPrefix("stored \(first.id.hex)"))
        #expect(try await node.client.entry(second.id).linked == true)
        _ = try await node.stop()
    }

    /// A submitted entry takes the same path as a published one: stored, then pushed to the
    /// topic's neighbours at once. Anti-entropy runs once a minute here, so only the push
    /// can bring it to the other node within the wait.
    @Test func aSubmittedEntryIsPushedToNeighboursLikeAPublishedOne() async throws {
        let slowSync = "  sync_interval_ms: 60000\n"
        let a = try await ServeProcess(directory: try MeshTests.directory(extra: slowSync))
        let b = try await ServeProcess(directory: try MeshTests.directory(extra: slowSync), arguments: ["--peer", a.meshAddress])
        try await MeshTests.eventually("a and b are mesh neighbours") {
            try await a.client.topics().first { $0.name == "mesh" }?.neighbors.isEmpty == false
        }
        // First a published entry, then a submitted one: both must reach b the same way.
        let published = try await a.client.publish(PublishRequest(content: .object(["text": .string("published")])))
        try await MeshTests.eventually("the published entry reached b", within: .seconds(10)) {
            (try? await b.client.entry(published.id)) != nil
        }
        let submitted = try entry(seq: 1, prev: nil, text: "submitted elsewhere")
        #expect(try await submit(a, submitted.encoded()).status == 201)
        try await MeshTests.eventually("the submitted entry reached b", within: .seconds(10)) {
            (try? await b.client.entry(submitted.id)) != nil
        }
        for node in [b, a] { _ = try await node.stop() }
    }
}
