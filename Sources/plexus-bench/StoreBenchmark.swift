import ArgumentParser
import Foundation
import Logging
import PlexusCore
import PlexusNode
import PlexusStore

/// `plexus-bench store`: publish rate, ingest rate, search latency at scale, idle RSS.
struct StoreBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Local publish rate, ingest (verify + store) rate, search p50/p99, idle RSS of plexus serve.")

    @Option(help: "Entries to publish locally (sign + store).")
    var publish = 50_000

    @Option(help: "Concurrent publishers.")
    var publishers = 256

    @Option(help: "Entries from another author to ingest (verify + store); the search runs over these.")
    var ingest = 100_000

    @Option(help: "Search queries to time.")
    var queries = 2_000

    @Option(help: "Entries pushed one at a time after the ingest, as gossip stores a delivery: the write path's cost per small transaction.")
    var pushed = 2_000

    @Option(help: "Seconds to let an idle plexus serve settle before reading its RSS.")
    var idleSeconds = 2

    @Flag(help: "Skip the idle-RSS measurement (needs the plexus executable beside this one).")
    var skipRSS = false

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }

        var result: [String: Any] = [
            "scenario": "store",
            "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount],
        ]
        result["publish"] = try await measurePublish(root: root.appendingPathComponent("publish"))
        let (ingestResult, store) = try await measureIngest(root: root.appendingPathComponent("ingest"))
        result["ingest"] = ingestResult
        result["search"] = try await measureSearch(store)
        if pushed > 0 {
            result["pushed_one_by_one"] = try await measurePushed(store)
        }
        if !skipRSS {
            result["idle_rss"] = try await measureIdleRSS(root: root.appendingPathComponent("serve"))
        }
        try printJSON(result)
    }

    /// (a) Node.publish from many concurrent tasks: build, sign, store durably.
    private func measurePublish(root: URL) async throws -> [String: Any] {
        let config = NodeConfig(dataDirectory: root.path)
        let node = try Node.open(config: config, logger: Logger(label: "bench", factory: { StreamLogHandler.standardError(label: $0) })) { () throws(PlexusError) in nil }
        let perPublisher = max(publish / publishers, 1)
        // The agents' content exists before they publish it: build it outside the timing.
        let drafts = (0..<(perPublisher * publishers)).map { n in
            EntryDraft(topic: "bench", tags: ["t\(n % 16)"], content: .object(["text": .string(Corpus.searchable(n))]))
        }
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for publisher in 0..<publishers {
                group.addTask {
                    for index in 0..<perPublisher {
                        _ = try await node.publish(drafts[publisher * perPublisher + index])
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let total = perPublisher * publishers
        let stored = try await node.status().store.entries
        return [
            "entries": total, "stored": stored, "publishers": publishers, "seconds": elapsed,
            "entries_per_s": Double(total) / elapsed, "target_entries_per_s": 20_000,
        ]
    }

    /// (b) Entries of another author arrive as wire bytes; verify on both cores while the
    /// writer stores earlier batches.
    private func measureIngest(root: URL) async throws -> ([String: Any], EntryStore) {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let author = AgentKey()
        var wire: [Data] = []
        wire.reserveCapacity(ingest)
        var prev: EntryID?
        for index in 0..<ingest {
            let draft = EntryDraft(
                topic: "bench", tags: ["t\(index % 16)"], content: .object(["text": .string(Corpus.searchable(index))]))
            let entry = try SignedEntry(signing: try draft.body(seq: UInt64(index + 1), prev: prev, timeMs: 0), with: author)
            prev = entry.id
            wire.append(entry.encoded())
        }
        let (entryMicros, signatureMicros) = try Self.timeVerification(Array(wire.prefix(5_000)))
        let store = try EntryStore(path: root.appendingPathComponent("plexus.db").path)
        let chunk = 512
        let chunks = stride(from: 0, to: wire.count, by: chunk).map { Array(wire[$0..<min($0 + chunk, wire.count)]) }
        let start = ContinuousClock.now
        let stored = try await withThrowingTaskGroup(of: Int.self) { group in
            var next = 0
            var stored = 0
            // A few chunks in flight: verification of later chunks overlaps the write of earlier ones.
            for _ in 0..<min(4, chunks.count) {
                let items = chunks[next]
                next += 1
                group.addTask { try await Self.verifyAndStore(items, store: store) }
            }
            while let count = try await group.next() {
                stored += count
                if next < chunks.count {
                    let items = chunks[next]
                    next += 1
                    group.addTask { try await Self.verifyAndStore(items, store: store) }
                }
            }
            return stored
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let head = try await store.head(of: author.id)?.seq ?? 0
        return ([
            "entries": ingest, "stored": stored, "linked_head": head, "seconds": elapsed,
            "entries_per_s": Double(ingest) / elapsed, "target_entries_per_s": 20_000,
            "one_thread_us": ["decode_and_verify_entry": entryMicros, "verify_signature": signatureMicros],
        ], store)
    }

    /// Microseconds per entry on one thread, nothing else running: decoding and verifying an
    /// encoded entry (`SignedEntry(encoded:)`), and the signature check alone.
    private static func timeVerification(_ wire: [Data]) throws -> (entry: Double, signature: Double) {
        guard !wire.isEmpty else { return (0, 0) }
        var start = ContinuousClock.now
        let entries = try wire.map { try SignedEntry(encoded: $0) }
        let entry = (ContinuousClock.now - start).seconds / Double(wire.count) * 1e6
        start = ContinuousClock.now
        let valid = entries.filter { $0.author.verify(signature: $0.signature, domain: .entry, $0.body) }.count
        let signature = (ContinuousClock.now - start).seconds / Double(wire.count) * 1e6
        guard valid == entries.count else { throw BenchmarkError("\(entries.count - valid) signatures did not verify again") }
        return (entry, signature)
    }

    private static func verifyAndStore(_ items: [Data], store: EntryStore) async throws -> Int {
        // Verification is CPU work: split it across two tasks so both cores take part.
        let half = items.count / 2
        async let first = items[..<half].map { IndexedEntry(try SignedEntry(encoded: $0)) }
        async let second = items[half...].map { IndexedEntry(try SignedEntry(encoded: $0)) }
        let entries = try await first + second
        let outcomes = try await store.writer.ingest(contentsOf: entries)
        return outcomes.filter { $0.stored != nil }.count
    }

    /// (d) Entries of 20 authors stored one at a time as gossip delivers them (`.pushed`, no
    /// fsync), verified beforehand: what one small write transaction costs.
    private func measurePushed(_ store: EntryStore) async throws -> [String: Any] {
        let authors = (0..<20).map { _ in AgentKey() }
        var heads: [EntryID?] = Array(repeating: nil, count: authors.count)
        var entries: [IndexedEntry] = []
        entries.reserveCapacity(pushed)
        for index in 0..<pushed {
            let which = index % authors.count
            let draft = EntryDraft(topic: "bench", tags: ["t\(index % 16)"], content: .object(["n": .integer(Int64(index))]))
            let entry = try SignedEntry(
                signing: try draft.body(seq: UInt64(index / authors.count + 1), prev: heads[which], timeMs: 0), with: authors[which])
            heads[which] = entry.id
            entries.append(IndexedEntry(entry))
        }
        let cpuBefore = ProcessCPU.seconds()
        let start = ContinuousClock.now
        var stored = 0
        for entry in entries where try await store.writer.ingest(entry, arrival: .pushed).stored != nil {
            stored += 1
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let cpu = ProcessCPU.seconds() - cpuBefore
        return [
            "entries": pushed, "stored": stored, "seconds": elapsed,
            "us_per_entry": elapsed / Double(pushed) * 1e6, "cpu_us_per_entry": cpu / Double(pushed) * 1e6,
        ]
    }

    /// (c) Search latency over the ingested entries: one- and two-word queries drawn from
    /// the same Zipf-distributed vocabulary as the content.
    private func measureSearch(_ store: EntryStore) async throws -> [String: Any] {
        let stored = try await store.stats().entries
        var generator = SplitMix(seed: 42)
        var samples = LatencySamples()
        var hits = 0
        for index in 0..<queries {
            let words = (0..<(index.isMultiple(of: 2) ? 1 : 2)).map { _ in Corpus.zipfWord(&generator) }
            let start = ContinuousClock.now
            let found = try await store.search(SearchQuery(words.joined(separator: " "), limit: 20))
            samples.add(ContinuousClock.now - start)
            hits += found.count
        }
        return [
            "stored_entries": stored, "queries": queries, "limit": 20, "mean_hits": Double(hits) / Double(queries),
            "p50_ms": samples.percentile(50), "p99_ms": samples.percentile(99), "target_p50_ms": 5,
        ]
    }

    /// (d) RSS of a `plexus serve` process that has started and is idle.
    private func measureIdleRSS(root: URL) async throws -> [String: Any] {
        let node = try ServeNode(directory: root)
        defer { node.stop() }
        try await node.ready()
        try await Task.sleep(for: .seconds(idleSeconds))
        return ["rss_kb": residentKiB(pid: node.process.processIdentifier) ?? -1, "settle_s": idleSeconds, "target_rss_kb": 30 * 1024]
    }
}

/// A small deterministic random generator for reproducible workloads.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Synthetic, word-like entry text, deterministic per index.
enum Corpus {
    /// A 5,000-word synthetic vocabulary ("kato", "rimesu", …) used with Zipf(1) frequencies,
    /// as words are in real text: a few very common, most rare.
    static let vocabulary: [String] = {
        let syllables = ["ka", "to", "ri", "me", "su", "no", "ha", "lu", "pe", "zo", "ti", "ga", "mi", "ro", "ve", "da"]
        return (0..<5000).map { index in
            var n = index + 16
            var word = ""
            while n > 0 {
                word += syllables[n % 16]
                n /= 16
            }
            return word
        }
    }()

    private static let cumulative: [Double] = {
        var total = 0.0
        return vocabulary.indices.map { index in
            total += 1.0 / Double(index + 1)
            return total
        }
    }()

    static func zipfWord(_ generator: inout SplitMix) -> String {
        let target = Double.random(in: 0..<cumulative[cumulative.count - 1], using: &generator)
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] < target { low = mid + 1 } else { high = mid }
        }
        return vocabulary[low]
    }

    /// 30 Zipf-distributed words for entry `index`.
    static func searchable(_ index: Int) -> String {
        var generator = SplitMix(seed: UInt64(index) &+ 1)
        return (0..<30).map { _ in zipfWord(&generator) }.joined(separator: " ")
    }
}
