import Crypto
import Foundation
import PlexusClient
import PlexusCore
import Testing

/// Blobs on real processes: a 50 MB blob put through the CLI crosses three nodes, the
/// third fetching from two sources at once and finishing from one after the other is
/// killed mid-transfer; bytes, ranges and limits over HTTP; refusals.
@Suite(.serialized) struct BlobMeshTests {
    /// `count` random bytes written to a new file.
    static func randomFile(_ count: Int, in directory: TempDirectory, name: String = "input.bin") throws -> (URL, Data) {
        let random = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
        defer { try? random.close() }
        let data = try random.read(upToCount: count) ?? Data()
        let url = directory.file(name)
        try data.write(to: url)
        return (url, data)
    }

    static func sha256(_ data: Data) -> String { Data(SHA256.hash(data: data)).map { String(format: "%02x", $0) }.joined() }

    @Test func aFiftyMegabyteBlobCrossesThreeNodesAndSurvivesAKilledSource() async throws {
        // Sources serve at 12 MiB/s each, so the transfers last long enough to interrupt.
        let rate = "blobs:\n  serve_rate: 12MiB\n"
        let (aDirectory, bDirectory, cDirectory) = (try MeshTests.directory(extra: rate), try MeshTests.directory(extra: rate), try MeshTests.directory())
        let a = try await ServeProcess(directory: aDirectory)
        let b = try await ServeProcess(directory: bDirectory, arguments: ["--peer", a.meshAddress])
        let c = try await ServeProcess(directory: cDirectory, arguments: ["--peer", a.meshAddress, "--peer", b.meshAddress])
        let (input, bytes) = try Self.randomFile(50 << 20, in: aDirectory)
        let put = try await runPlexus(["blob", "put", input.path, "--json", "--data", a.directory.path], home: a.directory.path)
        #expect(put.status == 0, "\(put.stderr)")
        let stored = try JSONDecoder().decode(BlobView.self, from: Data(put.stdout.utf8))
        #expect(stored.id.hex == Self.sha256(bytes) && stored.size == UInt64(bytes.count) && stored.pinned)

        // B fetches it from A through the CLI.
        let output = bDirectory.file("output.bin")
        let get = try await runPlexus(
            ["blob", "get", stored.id.hex, "-o", output.path, "--data", b.directory.path], home: b.directory.path)
        #expect(get.status == 0, "\(get.stderr)")
        #expect(try Data(contentsOf: output) == bytes)

        // C fetches from A and B at once; A is killed once C has a part of it.
        let holders = Set([try await a.client.identity().agentID, try await b.client.identity().agentID])
        try await MeshTests.eventually("C is connected to A and B", within: .seconds(30)) {
            Set(try await c.client.peers().filter { $0.state == .connected }.compactMap(\.agentID)).isSuperset(of: holders)
        }
        let fetcher = c.client
        let fetch = Task { try await fetcher.fetchBlob(stored.id, BlobFetchRequest(waitMs: 120_000)) }
        var sawTwoSources = false
        try await MeshTests.eventually("C is part way through", within: .seconds(60)) {
            guard let progress = try await c.client.blobs().fetching.first(where: { $0.id == stored.id }) else { return false }
            if progress.sources == 2 { sawTwoSources = true }
            return progress.fetchedBytes >= 12 << 20
        }
        #expect(sawTwoSources, "both holders served at once")
        _ = try await a.stop(signal: SIGKILL)
        let fetched = try await fetch.value
        #expect(fetched.id == stored.id && fetched.size == UInt64(bytes.count))
        var read = Data()
        try await c.client.readBlob(stored.id) { read.append($0) }
        #expect(read == bytes, "the bytes C holds are the bytes A stored")
        var part = Data()
        try await c.client.readBlob(stored.id, range: 1_000...1_999) { part.append($0) }
        #expect(part == bytes.subdata(in: 1_000..<2_000))
        let metrics = try await c.client.metrics()
        #expect(metrics.contains("plexus_blob_bytes_fetched_total"), "\(metrics.prefix(200))")
        let listed = try await runPlexus(["blobs", "--data", c.directory.path], home: c.directory.path)
        #expect(listed.stdout.contains(stored.id.hex), "\(listed.stdout)")
        for node in [c, b] { _ = try await node.stop() }
    }

    /// A node not connected to the blob's holder finds it: through the author of an entry
    /// that references the blob (dialled at the address of its directory record), and,
    /// for a blob nothing references, through the DHT. The fetcher listens nowhere and does
    /// not announce itself, so only its own dials connect it; before each fetch it is
    /// connected to the hub alone.
    @Test func holdersThatAreNotConnectedAreFoundThroughReferencesAndTheDHT() async throws {
        let holder = try await ServeProcess(directory: try MeshTests.directory(), announce: true)
        let hub = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", holder.meshAddress], announce: true)
        let fetcher = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--listen", "off", "--peer", hub.meshAddress])
        let holderID = try await holder.client.identity().agentID
        // Read from the fetcher's own directory: asking for the one agent would look it up in
        // the DHT, which may dial the holder.
        try await MeshTests.eventually("the fetcher has the holder's record", within: .seconds(60)) {
            try await fetcher.client.agents(AgentQuery()).contains { $0.agentID == holderID }
        }
        let referenced = try await holder.client.putBlob(Data("referenced by an entry".utf8))
        let entry = try await holder.client.publish(PublishRequest(
            content: .object(["text": .string("the file"), "blobs": .array([.object(["id": .string(referenced.id.hex)])])])))
        try await MeshTests.eventually("the fetcher holds the entry", within: .seconds(60)) { (try? await fetcher.client.entry(entry.id)) != nil }
        #expect(try await fetcher.client.connectedPeers().allSatisfy { $0.agentID != holderID }, "not connected to the holder")
        try await Self.fetch(referenced.id, by: fetcher, what: "the referenced blob", logs: [holder])
        #expect(try await fetcher.client.blobBytes(referenced.id, limit: 1 << 20) == Data("referenced by an entry".utf8))

        // Only the DHT knows of this one, and a second fetcher, connected to the hub alone,
        // asks for it. The holder stored its record under the blob's key before its put
        // returned.
        let unreferenced = try await holder.client.putBlob(Data("found in the DHT".utf8))
        let second = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--listen", "off", "--peer", hub.meshAddress])
        try await MeshTests.eventually("the second fetcher is connected") { !(try await second.client.connectedPeers().isEmpty) }
        #expect(try await second.client.connectedPeers().allSatisfy { $0.agentID != holderID }, "not connected to the holder")
        try await Self.fetch(unreferenced.id, by: second, what: "the blob in the DHT", logs: [hub, holder])
        #expect(try await second.client.blobBytes(unreferenced.id, limit: 1 << 20) == Data("found in the DHT".utf8))
        for node in [second, fetcher, hub, holder] { _ = try await node.stop() }
    }

    /// Fetches a blob, asking again (up to three times in all) when no source was reached: a
    /// fetch reports at once when it finds none, and on a loaded machine a dial to a holder
    /// can miss its turn. Failing every time records the nodes' logs.
    static func fetch(_ id: BlobID, by node: ServeProcess, what: String, logs: [ServeProcess]) async throws {
        var failures: [String] = []
        for _ in 0..<3 {
            do {
                _ = try await node.client.fetchBlob(id, BlobFetchRequest(waitMs: 30_000))
                return
            } catch {
                failures.append("\(error)")
                try await Task.sleep(for: .seconds(2))
            }
        }
        let others = logs.map { "log: " + String($0.log.suffix(2000)) }.joined(separator: "\n")
        Issue.record("\(what): \(failures)\nfetcher log: \(node.log.suffix(3000))\n\(others)")
    }

    /// A fetch interrupted by the fetching node's own death resumes from the chunks it kept
    /// once the node is back, and ends with the right bytes.
    @Test func aFetchResumesAfterTheFetchingNodeRestarts() async throws {
        let source = try await ServeProcess(directory: try MeshTests.directory(extra: "blobs:\n  serve_rate: 6MiB\n"))
        let fetcherDirectory = try MeshTests.directory()
        var fetcher = try await ServeProcess(directory: fetcherDirectory, arguments: ["--peer", source.meshAddress])
        let (input, bytes) = try Self.randomFile(20 << 20, in: source.directory)
        let blob = try await source.client.putBlob(file: input)
        try await MeshTests.eventually("connected") { !(try await fetcher.client.connectedPeers().isEmpty) }
        let client = fetcher.client
        let first = Task { try? await client.fetchBlob(blob.id, BlobFetchRequest(waitMs: 120_000)) }
        try await MeshTests.eventually("part of it arrived", within: .seconds(60)) {
            (try await fetcher.client.blobs().fetching.first?.fetchedBytes ?? 0) >= 6 << 20
        }
        _ = try await fetcher.stop(signal: SIGKILL)
        _ = await first.value
        fetcher = try await ServeProcess(directory: fetcherDirectory, arguments: ["--peer", source.meshAddress])
        try await MeshTests.eventually("connected again") { !(try await fetcher.client.connectedPeers().isEmpty) }
        let fetched = try await fetcher.client.fetchBlob(blob.id, BlobFetchRequest(waitMs: 120_000))
        #expect(fetched.size == UInt64(bytes.count))
        #expect(fetcher.log.contains("blob fetch resumed"), "the second fetch started from the kept chunks")
        var read = Data()
        try await fetcher.client.readBlob(blob.id) { read.append($0) }
        #expect(read == bytes)
        for node in [fetcher, source] { _ = try await node.stop() }
    }

    /// `plexus task send --file` sends 5 MB as a blob; the worker's node fetches it and
    /// `plexus worker --exec cat` reads exactly those bytes on stdin; its 5 MB of stdout go
    /// back as a blob that `task send -o` writes out.
    @Test func aFiveMegabyteTaskPayloadRunsThroughTheWorkerCommand() async throws {
        let worker = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--capability", "echo-bytes"])
        let caller = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", worker.meshAddress])
        let workerID = try await worker.client.identity().agentID
        try await MeshTests.eventually("connected") { !(try await caller.client.connectedPeers().isEmpty) }
        let (input, bytes) = try Self.randomFile(5 << 20, in: caller.directory)
        let workerDirectory = worker.directory.path
        let lane = Task {
            try await runPlexus(
                ["worker", "--data", workerDirectory, "--capability", "echo-bytes", "--exec", "cat", "--count", "1", "--concurrency", "1"],
                home: workerDirectory, timeout: .seconds(120))
        }
        let output = caller.directory.file("result.bin")
        let sent = try await runPlexus(
            ["task", "send", "--data", caller.directory.path, "--json", "--to", workerID.description, "--capability", "echo-bytes",
             "--timeout", "60", "--file", input.path, "-o", output.path],
            home: caller.directory.path, timeout: .seconds(120))
        #expect(sent.status == 0, "\(sent.stderr)")
        let view = try JSONDecoder().decode(TaskView.self, from: Data(sent.stdout.utf8))
        #expect(view.state == .completed)
        let payload = try #require(BlobReference(in: view.payload))
        #expect(payload.size == UInt64(bytes.count) && payload.name == "input.bin")
        #expect(BlobReference(in: view.result)?.size == UInt64(bytes.count), "the result came back as a blob")
        #expect(try Data(contentsOf: output) == bytes, "the command read exactly the bytes sent, and its output came back whole")
        #expect(try await lane.value.status == 0)
        #expect(try await worker.client.blob(payload.id).size == UInt64(bytes.count), "the worker's node fetched the payload")
        for node in [caller, worker] { _ = try await node.stop() }
    }

    /// A blob put for a private group is sealed under its key: members read it, an outsider
    /// that fetches the same blob holds only ciphertext, and no data directory holds the
    /// plaintext.
    @Test func aGroupBlobIsReadByMembersOnly() async throws {
        let owner = try await GroupTests.start()
        let bob = try await GroupTests.start(owner)
        let outsider = try await GroupTests.start(owner)
        let bobID = try await bob.client.identity().agentID
        try await GroupTests.waitUntil(owner, knows: [bobID])
        let group = try await owner.client.createGroup(GroupCreateRequest(name: "files")).id.hex
        _ = try await owner.client.addMember(group: group, GroupMemberRequest(agent: bobID))
        _ = try await owner.client.publish(group: group, PublishRequest(content: .object(["text": .string("welcome")])))
        try await MeshTests.eventually("Bob was welcomed", within: .seconds(60)) { try await GroupTests.texts(bob, group: group).contains("welcome") }

        let marker = "PLAINTEXT-MARKER-7f3a"
        let plain = Data(String(repeating: marker + " lab notes, ", count: 20_000).utf8)
        let input = owner.directory.file("notes.txt")
        try plain.write(to: input)
        let put = try await runPlexus(["blob", "put", "--group", "files", input.path, "--json", "--data", owner.directory.path], home: owner.directory.path)
        #expect(put.status == 0, "\(put.stderr)")
        let blob = try JSONDecoder().decode(BlobView.self, from: Data(put.stdout.utf8))
        #expect(blob.size > UInt64(plain.count), "sealed: header and a tag per segment")

        let output = bob.directory.file("notes.out")
        let get = try await runPlexus(
            ["blob", "get", blob.id.hex, "--group", group, "-o", output.path, "--data", bob.directory.path], home: bob.directory.path)
        #expect(get.status == 0, "\(get.stderr)")
        #expect(try Data(contentsOf: output) == plain, "a member reads the plaintext")

        _ = try await outsider.client.fetchBlob(blob.id, BlobFetchRequest(waitMs: 30_000))
        var sealed = Data()
        try await outsider.client.readBlob(blob.id) { sealed.append($0) }
        #expect(sealed.count == Int(blob.size) && sealed.range(of: Data(marker.utf8)) == nil, "the outsider holds ciphertext only")
        do {
            try await outsider.client.readBlob(blob.id, group: group) { _ in }
            Issue.record("an outsider opened a group blob")
        } catch {
            #expect(error.code == .notFound, "\(error)")
        }
        // At rest: the input file has the marker (the search works), no data directory does.
        #expect(try Self.filesContaining(Data(marker.utf8), under: owner.directory.url).contains(input.lastPathComponent))
        for node in [owner, bob, outsider] {
            let found = try Self.filesContaining(Data(marker.utf8), under: node.directory.url.appendingPathComponent("blobs"))
            #expect(found.isEmpty, "plaintext at rest: \(found)")
        }
        for node in [outsider, bob, owner] { _ = try await node.stop() }
    }

    /// Names of the files under `directory` whose bytes contain `needle`.
    static func filesContaining(_ needle: Data, under directory: URL) throws -> [String] {
        guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return [] }
        var found: [String] = []
        for case let url as URL in walker {
            if let data = try? Data(contentsOf: url), data.range(of: needle) != nil { found.append(url.lastPathComponent) }
        }
        return found
    }

    @Test func unreferencedBlobsAreCollectedAndReferencedOrPinnedOnesKept() async throws {
        let directory = try MeshTests.directory(extra: "blobs:\n  grace: 1s\n")
        let node = try await ServeProcess(directory: directory)
        _ = try await node.client.putBlob(Data("nobody refers to me".utf8), pin: false)
        let referenced = try await node.client.putBlob(Data("an entry refers to me".utf8), pin: false)
        let pinned = try await node.client.putBlob(Data("pinned".utf8))
        let entry = try await node.client.publish(PublishRequest(
            content: .object(["text": .string("see the file"), "blobs": .array([.object(["id": .string(referenced.id.hex)])])])))
        #expect(try await node.client.blob(referenced.id).references == 1)
        var collected = 0
        try await MeshTests.eventually("the loose blob is collected after its grace", within: .seconds(30)) {
            collected += try await node.client.runRetention().blobsCollected
            return collected >= 1
        }
        #expect(collected == 1)
        let held = Set(try await node.client.blobs().blobs.map(\.id))
        #expect(held == [referenced.id, pinned.id], "the referenced and the pinned blob stay")
        // Once its entry is deleted, nothing refers to it any more.
        _ = try await node.client.delete(DeleteEntriesRequest(ids: [entry.id]))
        #expect(try await node.client.blob(referenced.id).references == 0)
        // It was put within the last grace period too, so it may have to wait out the rest.
        collected = 0
        try await MeshTests.eventually("the unreferenced blob is collected after its grace", within: .seconds(30)) {
            collected += try await node.client.runRetention().blobsCollected
            return collected >= 1
        }
        #expect(collected == 1)
        #expect(Set(try await node.client.blobs().blobs.map(\.id)) == [pinned.id])
        _ = try await node.stop()
    }

    @Test func limitsRangesAndUnknownBlobsAreRefusedClearly() async throws {
        let directory = try MeshTests.directory(extra: "blobs:\n  max_blob_size: 64KiB\n  quota: 1MiB\n")
        let node = try await ServeProcess(directory: directory)
        let (small, smallBytes) = try Self.randomFile(40_000, in: directory, name: "small.bin")
        let (large, _) = try Self.randomFile(70_000, in: directory, name: "large.bin")
        // Refused: a blob over the limit, before any of it is kept …
        let refused = try await runPlexus(["blob", "put", large.path, "--data", node.directory.path], home: node.directory.path)
        #expect(refused.status == 1 && refused.stderr.contains("tooLarge"), "\(refused.stderr)")
        #expect(try await node.client.blobs().count == 0)
        // … works under it.
        let stored = try await node.client.putBlob(file: small)
        #expect(stored.size == 40_000 && stored.id.hex == Self.sha256(smallBytes))
        // A range outside the blob is 416; one inside is served.
        do {
            try await node.client.readBlob(stored.id, range: 50_000...50_010) { _ in }
            Issue.record("a range outside the blob was served")
        } catch {
            #expect(error.code == .rangeNotSatisfiable, "\(error)")
        }
        var tail = Data()
        try await node.client.readBlob(stored.id, range: 39_990...49_999) { tail.append($0) }
        #expect(tail == smallBytes.suffix(10))
        // A blob nobody connected has is reported at once, not waited for.
        let unknown = try BlobID.parse(String(repeating: "ab", count: 32))
        do {
            _ = try await node.client.fetchBlob(unknown, BlobFetchRequest(waitMs: 60_000))
            Issue.record("an unknown blob was fetched")
        } catch {
            #expect(error.code == .notFound, "\(error)")
        }
        // Pinning, unpinning and removal.
        #expect(try await node.client.pinBlob(stored.id, pinned: false).pinned == false)
        #expect(try await node.client.pinBlob(stored.id, pinned: true).pinned == true)
        #expect(try await node.client.removeBlob(stored.id).id == stored.id)
        #expect(try await node.client.blobs().count == 0)
        // The quota (1 MiB): blobs fit until the next one would pass it.
        for index in 0..<26 {
            _ = try await node.client.putBlob(Data(repeating: UInt8(index), count: 40_000))
        }
        #expect(try await node.client.blobs().usedBytes == 1_040_000)
        #expect(await GroupTests.refusal { _ = try await node.client.putBlob(Data(repeating: 99, count: 40_000)) } == .resourceExhausted)
        #expect(try await node.client.blobs().count == 26, "nothing of the refused blob was kept")
        _ = try await node.stop()
    }
}
