import ArgumentParser
import Foundation
import PlexusProtocol
import PlexusSimulator

/// `plexus-bench dht-sim`: Kademlia lookups among many simulated nodes, before and after a
/// share of them crash.
struct DHTSimBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dht-sim", abstract: "Simulated Kademlia (k=20, alpha=3): lookup success, hops and queries, with crashes.")

    @Option(help: "Nodes in the network.")
    var nodes = 1_000

    @Option(help: "Lookups per phase.")
    var lookups = 1_000

    @Option(help: "Values stored before the lookups.")
    var values = 200

    @Option(help: "Share of nodes that crash before the last phase.")
    var crash = 0.2

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    func run() async throws {
        let started = ContinuousClock.now
        let network = DHTSimulator(nodes: nodes, seed: seed)
        let built = (ContinuousClock.now - started).seconds
        var random = GossipRandom(seed: seed &+ 7)
        var stored: [DHTKey] = []
        for index in 0..<values {
            let key = DHTKey(hashing: Array("value-\(index)".utf8), domain: "plexus-bench:")
            network.store(from: Int.random(in: 0..<nodes, using: &random), key: key, value: [UInt8(index % 256)])
            stored.append(key)
        }

        func phase(_ alive: [Int]) -> [String: Any] {
            var nodeLookups: [DHTSimulator.Lookup] = []
            var valueLookups: [DHTSimulator.Lookup] = []
            for _ in 0..<lookups {
                let from = alive.randomElement(using: &random) ?? 0
                var target = alive.randomElement(using: &random) ?? 0
                while target == from { target = alive.randomElement(using: &random) ?? 0 }
                nodeLookups.append(network.findNode(from: from, target: target))
                valueLookups.append(network.findValue(from: from, key: stored.randomElement(using: &random)!))
            }
            return ["find_node": Self.summary(nodeLookups), "find_value": Self.summary(valueLookups)]
        }

        let healthy = phase(network.aliveNodes)
        network.crash(fraction: crash)
        let crashed = phase(network.aliveNodes)
        let tables = (0..<nodes).map(network.tableSize(of:))
        try printJSON([
            "scenario": "dht-sim", "nodes": nodes, "k": network.k, "alpha": network.alpha, "seed": seed,
            "lookups_per_phase": lookups, "values": values, "log2_nodes": log2(Double(nodes)),
            "build_seconds": built,
            "routing_table": ["mean": Double(tables.reduce(0, +)) / Double(tables.count), "min": tables.min() ?? 0, "max": tables.max() ?? 0],
            "healthy": healthy, "after_crash": crashed, "crashed_fraction": crash,
        ])
    }

    static func summary(_ lookups: [DHTSimulator.Lookup]) -> [String: Any] {
        let count = Double(max(lookups.count, 1))
        return [
            "success_rate": Double(lookups.filter(\.succeeded).count) / count,
            "hops_mean": Double(lookups.map(\.hops).reduce(0, +)) / count, "hops_max": lookups.map(\.hops).max() ?? 0,
            "rounds_mean": Double(lookups.map(\.rounds).reduce(0, +)) / count, "rounds_max": lookups.map(\.rounds).max() ?? 0,
            "queries_mean": Double(lookups.map(\.queries).reduce(0, +)) / count,
        ]
    }
}
