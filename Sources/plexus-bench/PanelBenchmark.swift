import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import PlexusClient
import PlexusCore
import PlexusStore

/// `plexus-bench panel`: how long each web panel page takes to render over a store of N
/// entries (target: under 50 ms at 100,000), and what an idle panel tab (its open event
/// stream) costs the node in CPU between events.
struct PanelBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "panel", abstract: "Web panel page render times at N entries, and the node's CPU with an idle panel tab open.")

    @Option(help: "Entries in the store.")
    var entries = 100_000

    @Option(help: "Requests per page.")
    var requests = 50

    @Option(help: "Seconds the idle comparison watches the node.")
    var idleSeconds = 10

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-bench-panel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let (sample, word) = try await fill(root.appendingPathComponent("plexus.db"))
        let node = try ServeNode(directory: root)
        defer { node.stop() }
        let client = try await node.ready()
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let result = try await measure(node: node, client: client, http: http, sample: sample, word: word)
            try await http.shutdown()
            try printJSON(result)
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// `entries` entries from 50 authors over 20 topics, written straight into the store the
    /// node then opens; returns one entry's id and a word that every hundredth entry holds.
    private func fill(_ database: URL) async throws -> (EntryID, String) {
        let store = try EntryStore(path: database.path)
        let authors = (0..<50).map { _ in AgentKey() }
        let perAuthor = entries / authors.count
        var sample: EntryID?
        for (number, author) in authors.enumerated() {
            var prev: EntryID?
            var batch: [IndexedEntry] = []
            for seq in 1...perAuthor {
                let text = "note \(seq) from author \(number)" + (seq % 100 == 0 ? " heliotrope" : "")
                let draft = EntryDraft(topic: "topic-\(seq % 20)", content: .object(["text": .string(text)]))
                let entry = try SignedEntry(signing: try draft.body(seq: UInt64(seq), prev: prev, timeMs: Int64(1_800_000_000_000 + seq)), with: author)
                prev = entry.id
                if sample == nil, seq == perAuthor / 2 { sample = entry.id }
                batch.append(IndexedEntry(entry, searchText: text))
                if batch.count == 1000 {
                    _ = try await store.writer.ingest(contentsOf: batch, arrival: .synced)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            if !batch.isEmpty { _ = try await store.writer.ingest(contentsOf: batch, arrival: .synced) }
        }
        guard let sample else { throw BenchmarkError("no entries written") }
        return (sample, "heliotrope")
    }

    private func measure(node: ServeNode, client: NodeClient, http: HTTPClient, sample: EntryID, word: String) async throws -> [String: Any] {
        let held = try await client.status().store.entries
        let cookie = try await signIn(client: client, http: http)
        let middle = try await client.status().store.latestCursor / 2
        let pages = [
            "/ui/", "/ui/feed", "/ui/feed?topic=topic-7", "/ui/feed?before=\(middle)", "/ui/search?q=\(word)", "/ui/entries/\(sample)",
            "/ui/peers", "/ui/agents", "/ui/tasks", "/ui/groups", "/ui/store", "/ui/metrics",
        ]
        var figures: [String: Any] = [:]
        var worst = 0.0
        for page in pages {
            _ = try await get(client.baseURL + page, cookie: cookie, http: http)  // warm-up
            var samples = LatencySamples()
            for _ in 0..<requests {
                let start = ContinuousClock.now
                let status = try await get(client.baseURL + page, cookie: cookie, http: http)
                samples.add(ContinuousClock.now - start)
                guard status == 200 else { throw BenchmarkError("\(page) answered \(status)") }
            }
            worst = max(worst, samples.percentile(99))
            figures[page] = ["p50_ms": samples.percentile(50), "p99_ms": samples.percentile(99)]
        }
        return [
            "scenario": "panel", "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount], "entries": held,
            "requests_per_page": requests, "pages": figures, "worst_p99_ms": worst, "target_ms": 50,
            "idle": try await idleCost(node: node, client: client, cookie: cookie, http: http),
        ]
    }

    /// A login link opened: the session cookie it sets.
    private func signIn(client: NodeClient, http: HTTPClient) async throws -> String {
        let login = try await client.panelLogin()
        let response = try await http.execute(HTTPClientRequest(url: client.panelURL(login)), timeout: .seconds(30))
        guard let cookie = response.headers["set-cookie"].first?.split(separator: ";").first else {
            throw BenchmarkError("the login link set no cookie (status \(response.status.code))")
        }
        return String(cookie)
    }

    private func get(_ url: String, cookie: String, http: HTTPClient) async throws -> UInt {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Cookie", value: cookie)
        let response = try await http.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 16 << 20)
        return response.status.code
    }

    /// The node's CPU seconds over `idleSeconds` with no panel open, then with a panel tab's
    /// event stream open and nothing happening.
    private func idleCost(node: ServeNode, client: NodeClient, cookie: String, http: HTTPClient) async throws -> [String: Any] {
        func cpu(over seconds: Int) async throws -> Double {
            let before = node.cpuSeconds ?? 0
            try await Task.sleep(for: .seconds(seconds))
            return (node.cpuSeconds ?? 0) - before
        }
        let without = try await cpu(over: idleSeconds)
        var request = HTTPClientRequest(url: client.baseURL + "/ui/events")
        request.headers.add(name: "Cookie", value: cookie)
        let response = try await http.execute(request, timeout: .seconds(Int64(idleSeconds) * 3 + 30))
        guard response.status.code == 200 else { throw BenchmarkError("/ui/events answered \(response.status.code)") }
        let reader = Task {
            var bytes = 0
            for try await chunk in response.body { bytes += chunk.readableBytes }
            return bytes
        }
        let with = try await cpu(over: idleSeconds)
        reader.cancel()
        return [
            "seconds": idleSeconds, "node_cpu_seconds_without_panel": without, "node_cpu_seconds_with_idle_panel": with,
        ]
    }
}
