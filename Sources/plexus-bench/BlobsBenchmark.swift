import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore
import PlexusStore
import Synchronization

/// `plexus-bench blobs`: blob transfer between real processes (one source, then two at
/// once) and what the retention sweep costs over a large store.
struct BlobsBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blobs",
        abstract: "Blob transfer MB/s between two plexus serve processes and from two sources at once; retention sweep cost at N entries.")

    @Option(help: "Blob size in MiB.")
    var megabytes = 256

    @Option(help: "Entries in the store the sweep runs over.")
    var entries = 1_000_000

    @Flag(help: "Skip the sweep measurement.")
    var skipSweep = false

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        var result: [String: Any] = ["scenario": "blobs", "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount]]
        result["transfer"] = try await measureTransfer(root: root.appendingPathComponent("transfer"))
        if !skipSweep { result["sweep"] = try await measureSweep(root: root.appendingPathComponent("sweep")) }
        try printJSON(result)
    }

    /// A puts a random blob; B fetches it from A; C, connected to both, fetches it from both.
    private func measureTransfer(root: URL) async throws -> [String: Any] {
        let size = megabytes << 20
        let a = try ServeNode(directory: root.appendingPathComponent("a"))
        let aClient = try await a.ready()
        let b = try ServeNode(directory: root.appendingPathComponent("b"), arguments: ["--peer", a.meshAddress])
        let bClient = try await b.ready()
        let input = root.appendingPathComponent("input.bin")
        let random = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
        FileManager.default.createFile(atPath: input.path, contents: nil)
        let writer = try FileHandle(forWritingTo: input)
        for _ in 0..<megabytes { try writer.write(contentsOf: try random.read(upToCount: 1 << 20) ?? Data()) }
        try writer.close()
        try random.close()

        var start = ContinuousClock.now
        let blob = try await aClient.putBlob(file: input)
        let put = (ContinuousClock.now - start).seconds
        try await until("B is connected", within: .seconds(30)) { !(try await bClient.connectedPeers().isEmpty) }
        start = ContinuousClock.now
        _ = try await bClient.fetchBlob(blob.id, BlobFetchRequest(waitMs: 600_000))
        let one = (ContinuousClock.now - start).seconds

        let c = try ServeNode(directory: root.appendingPathComponent("c"), arguments: ["--peer", a.meshAddress, "--peer", b.meshAddress])
        let cClient = try await c.ready()
        try await until("C is connected to both", within: .seconds(30)) { try await cClient.connectedPeers().count >= 2 }
        let sources = Mutex(0)
        start = ContinuousClock.now
        let watch = Task {
            while !Task.isCancelled {
                if let progress = try? await cClient.blobs().fetching.first { let n = progress.sources; sources.withLock { $0 = max($0, n) } }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        _ = try await cClient.fetchBlob(blob.id, BlobFetchRequest(waitMs: 600_000))
        let two = (ContinuousClock.now - start).seconds
        watch.cancel()
        for node in [c, b, a] { node.stop() }
        let mib = Double(size) / Double(1 << 20)
        return [
            "bytes": size, "put_seconds": put, "put_mb_per_s": mib / put,
            "one_source": ["seconds": one, "mb_per_s": mib / one],
            "two_sources": ["seconds": two, "mb_per_s": mib / two, "sources_seen": sources.withLock { $0 }],
            "target_mb_per_s": 500,
        ]
    }

    /// A store of `entries` entries (100 authors over 100 topics), then: a sweep of one
    /// policy over every topic that keeps the newest half of each, the same sweep again
    /// (nothing to remove), and the collapse of the tombstones the first left once they are old.
    private func measureSweep(root: URL) async throws -> [String: Any] {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let now = Mutex<Int64>(1_800_000_000_000)
        let store = try EntryStore(path: root.appendingPathComponent("plexus.db").path, clock: { now.withLock { $0 } })
        let authors = (0..<100).map { _ in AgentKey() }
        let perAuthor = entries / authors.count
        let buildStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (number, author) in authors.enumerated() {
                // Two authors' chains are built and stored at a time (one per core).
                if number >= 2 { try await group.next() }
                group.addTask {
                    var prev: EntryID?
                    var batch: [IndexedEntry] = []
                    for seq in 1...perAuthor {
                        let draft = EntryDraft(topic: "topic-\(seq % 100)", content: .object(["n": .integer(Int64(seq)), "a": .integer(Int64(number))]))
                        let entry = try SignedEntry(signing: try draft.body(seq: UInt64(seq), prev: prev, timeMs: 0), with: author)
                        prev = entry.id
                        batch.append(IndexedEntry(entry, searchText: ""))
                        if batch.count == 512 {
                            _ = try await store.writer.ingest(contentsOf: batch, arrival: .synced)
                            batch.removeAll(keepingCapacity: true)
                        }
                    }
                    if !batch.isEmpty { _ = try await store.writer.ingest(contentsOf: batch, arrival: .synced) }
                }
            }
            try await group.waitForAll()
        }
        let built = (ContinuousClock.now - buildStart).seconds
        let held = try await store.stats().entries
        // One policy over every topic: keep the newest half of each.
        let keep = RetentionStore.Rule(topic: nil, author: nil, maxAgeMs: nil, maxCount: Int64(held / 100 / 2), compactKey: nil)
        var start = ContinuousClock.now
        let removed = try await store.retention.sweep(keep, keeping: AgentKey().id, excludedPrefix: "group/")
        let sweep = (ContinuousClock.now - start).seconds
        start = ContinuousClock.now
        let again = try await store.retention.sweep(keep, keeping: AgentKey().id, excludedPrefix: "group/")
        let idle = (ContinuousClock.now - start).seconds
        now.withLock { $0 += 8 * 86_400_000 }
        start = ContinuousClock.now
        let collapsed = try await store.collapseTombstones(olderThanMs: 7 * 86_400_000)
        let collapse = (ContinuousClock.now - start).seconds
        return [
            "entries": held, "build_seconds": built,
            "sweep_half": ["removed": removed, "seconds": sweep, "entries_per_s": Double(removed) / max(sweep, 1e-9)],
            "sweep_nothing_to_remove": ["removed": again, "seconds": idle],
            "collapse": ["tombstones": collapsed, "seconds": collapse, "left": try await store.stats().tombstones],
        ]
    }
}
