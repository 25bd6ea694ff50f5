import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore

/// `plexus-bench gossip-live`: real `plexus serve` processes on 127.0.0.1 form a mesh; entries
/// are published at a steady rate from every node in turn; reports delivery per node and
/// publish-to-delivery latency (each node's receive time minus the origin's, one clock).
struct GossipLiveBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gossip-live", abstract: "N processes, entries at a fixed rate: delivery per node, p50/p99 publish-to-delivery.")

    @Option(help: "Nodes (processes).")
    var nodes = 20

    @Option(help: "Entries to publish.")
    var count = 1000

    @Option(help: "Entries per second, spread over the nodes.")
    var rate = 200.0

    @Option(help: "Seconds to let the overlay settle after every node has neighbours.")
    var settle = 3.0

    @Option(help: "Entries published at 20/s from every node in turn before the measured run (not counted): they let the broadcast trees form, so the run measures the steady state.")
    var warmup = 40

    @Option(help: "Seed for the bootstrap choices.")
    var seed: UInt64 = 1

    @Option(help: "Write every measured delivery to this CSV file (entry index, origin, receiver, publish ms, latency ms), to see which nodes and moments are late.")
    var deliveries: String?

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-bench-live-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        var generator = SplitMix(seed: seed)

        // Each node bootstraps from one random earlier node; HyParView builds the overlay.
        var processes: [ServeNode] = []
        defer { processes.forEach { $0.stop() } }
        var clients: [NodeClient] = []
        for index in 0..<nodes {
            let arguments = index == 0 ? [] : ["--peer", processes[Int.random(in: 0..<index, using: &generator)].meshAddress]
            let node = try ServeNode(directory: root.appendingPathComponent("n\(index)"), arguments: arguments)
            processes.append(node)
            clients.append(try await node.ready())
        }
        let formed = ContinuousClock.now + .seconds(60)
        for client in clients {
            while try await client.topics().first(where: { $0.name == TopicName.mesh })?.neighbors.isEmpty != false {
                guard ContinuousClock.now < formed else { throw BenchmarkError("a node found no neighbour in 60 s") }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        try await Task.sleep(for: .seconds(settle))
        for index in 0..<warmup {
            _ = try await clients[index % nodes].publish(PublishRequest(content: .object(["warmup": .integer(Int64(index))])))
            try await Task.sleep(for: .milliseconds(50))
        }
        let expected = count + warmup
        var gossipBefore: [String: Int] = [:]
        for client in clients {
            gossipBefore.merge(try await client.status().mesh?.gossipIn ?? [:], uniquingKeysWith: +)
        }

        let cpuBefore = processes.compactMap(\.cpuSeconds).reduce(0, +)

        // Publish on schedule: entry k at start + k / rate, from node k mod N.
        let start = ContinuousClock.now
        let interval = Duration.seconds(1 / rate)
        let published = try await withThrowingTaskGroup(of: (Int, EntryView).self) { group in
            for index in 0..<count {
                try await Task.sleep(until: start + interval * index)
                let client = clients[index % nodes]
                group.addTask {
                    (index, try await client.publish(PublishRequest(content: .object(["n": .integer(Int64(index))]))))
                }
            }
            var published: [EntryID: (origin: Int, receivedMs: Int64, index: Int)] = [:]
            for try await (index, view) in group { published[view.id] = (index % self.nodes, view.receivedMs, index) }
            return published
        }
        let publishSeconds = (ContinuousClock.now - start).seconds

        // Wait (bounded) until every node holds every entry.
        let deadline = ContinuousClock.now + .seconds(30)
        var complete = false
        while !complete, ContinuousClock.now < deadline {
            complete = true
            for client in clients where try await client.status().store.entries < expected {
                complete = false
                break
            }
            if !complete { try await Task.sleep(for: .milliseconds(20)) }
        }

        let cpuSeconds = processes.compactMap(\.cpuSeconds).reduce(0, +) - cpuBefore
        var framesIn = 0
        var gossipIn: [String: Int] = [:]
        var dropped = 0
        var closed: [String: Int] = [:]
        var dialed = 0
        for client in clients {
            let mesh = try await client.status().mesh
            framesIn += mesh?.counts.framesIn ?? 0
            gossipIn.merge(mesh?.gossipIn ?? [:], uniquingKeysWith: +)
            dropped += mesh?.gossipDropped ?? 0
            closed.merge(mesh?.counts.closed ?? [:], uniquingKeysWith: +)
            dialed += mesh?.counts.connectionsDialed ?? 0
        }
        var latencies = LatencySamples()
        var delivered: [Int] = []
        var rows = ["index,origin,receiver,published_ms,latency_ms"]
        for (index, client) in clients.enumerated() {
            var got = 0
            var cursor: Int64 = 0
            while true {
                let page = try await client.feed(since: cursor, limit: 500)
                for entry in page.entries {
                    guard let origin = published[entry.id] else { continue }
                    got += 1
                    if origin.origin != index {
                        latencies.add(.milliseconds(entry.receivedMs - origin.receivedMs))
                        rows.append("\(origin.index),\(origin.origin),\(index),\(origin.receivedMs),\(entry.receivedMs - origin.receivedMs)")
                    }
                }
                guard page.hasMore, let next = page.nextCursor else { break }
                cursor = next
            }
            delivered.append(got)
        }
        if let deliveries { try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: deliveries)) }
        try printJSON([
            "scenario": "gossip-live", "nodes": nodes, "count": count, "rate_per_s": rate, "warmup_entries": warmup,
            "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount],
            "publish_seconds": publishSeconds,
            "mesh_frames_received_per_delivery": Double(framesIn) / Double(max(1, count * (nodes - 1))),
            "node_cpu_ms_per_delivery": cpuSeconds * 1000 / Double(max(1, count * (nodes - 1))),
            "gossip_received_by_kind": gossipIn,
            "gossip_received_by_kind_before_the_measured_run": gossipBefore,
            "gossip_frames_dropped_on_full_queues": dropped,
            "connections": ["dialed": dialed, "closed_by_reason": closed],
            "delivery": [
                "per_node": delivered, "min_fraction": Double(delivered.min() ?? 0) / Double(count),
                "all_complete": delivered.allSatisfy { $0 == count },
            ],
            "latency_ms": [
                "p50": latencies.percentile(50), "p90": latencies.percentile(90), "p99": latencies.percentile(99),
                "max": latencies.percentile(100), "samples": latencies.values.count,
            ],
            "target": ["delivery": 1.0, "p99_ms": 50],
        ])
    }
}
