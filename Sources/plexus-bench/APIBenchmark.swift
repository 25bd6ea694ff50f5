import ArgumentParser
import AsyncHTTPClient
import Foundation
import PlexusClient
import PlexusCore
import Synchronization

/// `plexus-bench api`: the local HTTP API of one `plexus serve` process under load from this
/// process: publishes from concurrent clients, then publish-to-SSE latency to subscribers.
struct APIBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api", abstract: "HTTP publish throughput with concurrent clients, and publish-to-SSE latency.")

    @Option(help: "Concurrent publishing clients.")
    var clients = 16

    @Option(help: "Entries published in the throughput phase (after a 500-entry warm-up).")
    var publishes = 20_000

    @Option(help: "Entries per request in the throughput phase: 1 is POST /v1/publish, more is POST /v1/publish/batch.")
    var batch = 1

    func validate() throws {
        guard (1...PublishBatchRequest.maxEntries).contains(batch) else {
            throw ValidationError("--batch must be 1 to \(PublishBatchRequest.maxEntries)")
        }
    }

    @Option(help: "SSE subscribers in the latency phase.")
    var subscribers = 10

    @Option(help: "Entries published, one at a time, in the latency phase.")
    var events = 1_000

    @Option(help: "Publish rate in the latency phase (entries/s).")
    var rate = 200.0

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-bench-api-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let node = try ServeNode(directory: root)
        defer { node.stop() }
        let base = try await node.ready()
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(clients, subscribers) + 4
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            try await measure(node: node, base: base, http: http, root: root)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    private func measure(node: ServeNode, base: NodeClient, http: HTTPClient, root: URL) async throws {
        let address = String(base.baseURL.dropFirst("http://".count))
        let token = try String(contentsOf: root.appendingPathComponent("api.token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let client = NodeClient(address: address, token: token, http: http)

        _ = try await publishConcurrently(client, count: 500)  // warm-up: connections, SQLite pages
        let start = ContinuousClock.now
        let publishLatency = try await publishConcurrently(client, count: publishes)
        let seconds = (ContinuousClock.now - start).seconds
        let requests = (publishes + batch - 1) / batch

        let delivery = try await sseLatency(client)
        try printJSON([
            "scenario": "api",
            "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount],
            "publish": [
                "clients": clients, "entries_per_request": batch, "requests": requests, "entries": publishes, "seconds": seconds,
                "requests_per_s": Double(requests) / seconds, "entries_per_s": Double(publishes) / seconds,
                "p50_ms": publishLatency.percentile(50), "p99_ms": publishLatency.percentile(99),
                "target_entries_per_s": 10_000,
            ],
            "sse": [
                "subscribers": subscribers, "entries": events, "rate_per_s": rate,
                "deliveries": delivery.values.count,
                "p50_ms": delivery.percentile(50), "p99_ms": delivery.percentile(99), "max_ms": delivery.percentile(100),
                "target_p99_ms": 10,
            ],
            "rss_kb_after": residentKiB(pid: node.process.processIdentifier) ?? -1,
        ])
    }

    /// `count` entries published by `clients` tasks that each send one request after
    /// another, `batch` entries per request; the samples are per request.
    private func publishConcurrently(_ client: NodeClient, count: Int) async throws -> LatencySamples {
        let next = SharedCount()
        return try await withThrowingTaskGroup(of: LatencySamples.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var samples = LatencySamples()
                    while true {
                        let first = next.value.wrappingAdd(batch, ordering: .relaxed).oldValue
                        guard first < count else { return samples }
                        let requests = (first..<min(first + batch, count)).map { index in
                            PublishRequest(
                                type: "bench", tags: ["api"], content: .object(["text": .string("publish number \(index)"), "n": .integer(Int64(index))]))
                        }
                        let started = ContinuousClock.now
                        if batch == 1 {
                            _ = try await client.publish(requests[0])
                        } else {
                            _ = try await client.publish(batch: PublishBatchRequest(entries: requests))
                        }
                        samples.add(ContinuousClock.now - started)
                    }
                }
            }
            var all = LatencySamples()
            for try await samples in group { all.merge(samples) }
            return all
        }
    }

    /// Subscribers on `GET /v1/events`; entries published one by one at `rate`; the time
    /// from starting each publish to each subscriber reading its event.
    private func sseLatency(_ client: NodeClient) async throws -> LatencySamples {
        let sentAt = SentTimes()
        let ready = ReadySubscribers()
        let marker = -1
        let events = self.events
        let subscriptions = (0..<subscribers).map { subscriber in
            Task { () throws -> LatencySamples in
                var samples = LatencySamples()
                var seen = 0
                for try await event in client.events(type: "sse-bench", heartbeatMs: 1000) {
                    guard let view = try? JSONDecoder().decode(EntryView.self, from: Data(event.data.utf8)),
                          case .integer(let n)? = view.content?.objectValue?["n"]
                    else { continue }
                    if n == marker {
                        ready.open.withLock { _ = $0.insert(subscriber) }
                        continue
                    }
                    let arrived = ContinuousClock.now
                    if let sent = sentAt.times.withLock({ $0[Int(n)] }) { samples.add(arrived - sent) }
                    seen += 1
                    if seen == events { return samples }
                }
                return samples
            }
        }
        // Markers until every subscriber has one: then all streams are open.
        let deadline = ContinuousClock.now + .seconds(30)
        while ready.open.withLock({ $0.count }) < subscribers {
            guard ContinuousClock.now < deadline else { throw BenchmarkError("SSE subscribers did not start") }
            _ = try await client.publish(PublishRequest(type: "sse-bench", content: .object(["n": .integer(Int64(marker))])))
            try await Task.sleep(for: .milliseconds(200))
        }
        let interval = Duration.seconds(1 / rate)
        var due = ContinuousClock.now
        for index in 0..<events {
            try await Task.sleep(until: due, clock: .continuous)
            due += interval
            sentAt.times.withLock { $0[index] = .now }
            _ = try await client.publish(PublishRequest(type: "sse-bench", content: .object(["n": .integer(Int64(index))])))
        }
        var all = LatencySamples()
        for subscription in subscriptions {
            let samples = try await withThrowingTaskGroup(of: LatencySamples?.self) { group in
                group.addTask { try await subscription.value }
                group.addTask {
                    try await Task.sleep(for: .seconds(30))
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                subscription.cancel()
                return first
            }
            guard let samples else { throw BenchmarkError("a subscriber did not receive every event within 30 s") }
            all.merge(samples)
        }
        return all
    }
}

/// A counter shared by concurrent tasks.
private final class SharedCount: Sendable {
    let value = Atomic<Int>(0)
}

/// The subscribers whose stream is known to be open (they received a marker entry).
private final class ReadySubscribers: Sendable {
    let open = Mutex<Set<Int>>([])
}

/// When each latency-phase entry was published, by its number.
private final class SentTimes: Sendable {
    let times = Mutex<[Int: ContinuousClock.Instant]>([:])
}
