import ArgumentParser
import Foundation
import PlexusCore
import PlexusStore

/// `plexus-bench sync`: a fresh `plexus serve` catches up by anti-entropy from a peer that
/// holds many entries; two processes on 127.0.0.1.
struct SyncBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "A fresh node catches up from a peer holding --entries entries; entries/s.")

    @Option(help: "Entries the source node holds.")
    var entries = 100_000

    @Option(help: "Authors the entries are spread over.")
    var authors = 100

    @Option(help: "Seconds to wait for the catch-up before giving up.")
    var timeout = 300.0

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-bench-sync-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let sourceDirectory = root.appendingPathComponent("source")
        try FileManager.default.createDirectory(at: sourceDirectory, withIntermediateDirectories: true)
        let prefillStart = ContinuousClock.now
        try await prefill(sourceDirectory.appendingPathComponent("plexus.db"))
        let prefill = (ContinuousClock.now - prefillStart).seconds

        let source = try ServeNode(directory: sourceDirectory)
        defer { source.stop() }
        try await source.ready()

        let spawned = ContinuousClock.now
        let fresh = try ServeNode(directory: root.appendingPathComponent("fresh"), arguments: ["--peer", source.meshAddress])
        defer { fresh.stop() }
        let client = try await fresh.ready()
        var connected: ContinuousClock.Instant?
        var done: ContinuousClock.Instant?
        var held = 0
        let deadline = spawned + .seconds(timeout)
        while done == nil, ContinuousClock.now < deadline {
            if connected == nil, !(try await client.connectedPeers().isEmpty) { connected = .now }
            held = try await client.status().store.entries
            if held >= entries { done = .now } else { try await Task.sleep(for: .milliseconds(20)) }
        }
        let received = try await client.sync().reduce(0) { $0 + $1.entriesReceived }
        var result: [String: Any] = [
            "scenario": "sync", "entries": entries, "authors": authors, "held_at_end": held,
            "received_by_anti_entropy": received, "prefill_s": prefill,
            "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount],
            "target_entries_per_s": 20_000,
        ]
        if let connected, let done {
            let seconds = (done - connected).seconds
            result["seconds_from_connected"] = seconds
            result["seconds_from_spawn"] = (done - spawned).seconds
            result["entries_per_s"] = Double(entries) / seconds
        } else {
            result["error"] = "the fresh node held \(held) of \(entries) entries after \(timeout) s"
        }
        result["rss_kb"] = ["source": residentKiB(pid: source.process.processIdentifier) ?? -1,
                            "fresh": residentKiB(pid: fresh.process.processIdentifier) ?? -1]
        try printJSON(result)
    }

    /// Writes the source node's entries straight into its store before it starts: feeds
    /// of `authors` authors, signed on every core.
    private func prefill(_ database: URL) async throws {
        let perAuthor = max(1, entries / authors)
        let store = try EntryStore(path: database.path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for author in 0..<authors {
                let count = author == authors - 1 ? entries - perAuthor * (authors - 1) : perAuthor
                group.addTask {
                    guard count > 0 else { return }
                    let key = AgentKey()
                    var batch: [SignedEntry] = []
                    var prev: EntryID?
                    for seq in 1...count {
                        let draft = EntryDraft(content: .object(["text": .string(Corpus.searchable(author * perAuthor + seq))]))
                        let entry = try SignedEntry(signing: try draft.body(seq: UInt64(seq), prev: prev, timeMs: 0), with: key)
                        prev = entry.id
                        batch.append(entry)
                        if batch.count == 512 {
                            _ = try await store.ingest(contentsOf: batch)
                            batch.removeAll(keepingCapacity: true)
                        }
                    }
                    if !batch.isEmpty { _ = try await store.ingest(contentsOf: batch) }
                }
                if author >= 8 { try await group.next() }  // a few authors at a time
            }
            try await group.waitForAll()
        }
    }
}
