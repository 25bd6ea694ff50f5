import ArgumentParser
import PlexusProtocol
import PlexusSimulator

/// `plexus-bench gossip-sim`: HyParView + PlumTree on the virtual clock at scale.
struct GossipSimBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gossip-sim", abstract: "Delivery, RMR and LDH in a simulated network: one sender, many senders, crashes.")

    @Option(help: "Nodes in the simulated network.")
    var nodes = 1000

    @Option(help: "Messages per phase.")
    var messages = 20

    @Option(help: "Seed of the run.")
    var seed: UInt64 = 1

    func run() throws {
        let clock = ContinuousClock()
        let started = clock.now
        let simulator = GossipSimulator(nodes: nodes, seed: seed)
        simulator.bootstrap(spacing: .milliseconds(5))
        simulator.run(for: .seconds(20))
        var nextID: UInt64 = 0

        func phase(_ senders: (Int) -> Int, settle: Duration = .seconds(2), spaced: Bool) -> [String: Any] {
            var ids: [UInt64] = []
            for index in 0..<messages {
                nextID += 1
                ids.append(nextID)
                simulator.broadcast(from: senders(index), id: nextID)
                if spaced { simulator.run(for: .milliseconds(500)) }
            }
            simulator.run(for: settle)
            let alive = simulator.aliveNodes.count
            let delivered = ids.map { simulator.stats(for: $0).delivered }
            let rmr = ids.map { simulator.relativeMessageRedundancy($0) }
            let ldh = ids.map { simulator.stats(for: $0).lastDeliveryHop }
            return [
                "messages": ids.count, "alive_nodes": alive,
                "delivery_ratio": Double(delivered.reduce(0, +)) / Double(alive * ids.count),
                "min_delivered": delivered.min() ?? 0,
                "rmr_mean": rmr.reduce(0, +) / Double(max(rmr.count, 1)),
                "ldh_max": ldh.max() ?? 0, "ldh_mean": Double(ldh.reduce(0, +)) / Double(max(ldh.count, 1)),
            ]
        }

        var result: [String: Any] = ["scenario": "gossip-sim", "nodes": nodes, "seed": seed, "latency_ms": "10-50"]
        _ = phase({ _ in 0 }, spaced: true)  // warm-up: lets PlumTree prune to a tree
        result["single_sender"] = phase({ _ in 0 }, spaced: true)
        result["many_senders"] = phase({ $0 * 7919 % nodes }, spaced: false)
        // The same senders again: each author's tree has formed from its first entry.
        result["many_senders_again"] = phase({ $0 * 7919 % nodes }, spaced: false)
        var random = GossipRandom(seed: seed &+ 1)
        let alive = simulator.aliveNodes.filter { $0 != 0 }
        simulator.crash(Array(alive.shuffled(using: &random).prefix(nodes * 30 / 100)))
        simulator.run(for: .seconds(5))
        result["after_30pct_crash"] = phase({ _ in 0 }, spaced: true)
        let survivors = simulator.aliveNodes.filter { $0 != 0 }
        simulator.crash(Array(survivors.shuffled(using: &random).prefix(survivors.count * 50 / 100)))
        simulator.run(for: .seconds(5))
        result["after_further_50pct_crash"] = phase({ _ in 0 }, spaced: true)
        result["wall_seconds"] = (clock.now - started).seconds
        try printJSON(result)
    }
}
