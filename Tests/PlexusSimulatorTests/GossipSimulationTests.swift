import PlexusProtocol
import PlexusSimulator
import Testing

/// HyParView + PlumTree at 100 nodes with 10–50 ms links, on the virtual clock.
@Suite struct GossipSimulationTests {
    static func network(seed: UInt64 = 1) -> GossipSimulator {
        let simulator = GossipSimulator(nodes: 100, seed: seed)
        simulator.bootstrap()
        simulator.run(for: .seconds(10))  // let joins, repairs and shuffles settle
        return simulator
    }

    @Test func oneSenderReachesEveryNodeAndTheTreeSettlesToLowRedundancy() {
        let simulator = Self.network()
        for id in UInt64(1)...40 {
            simulator.broadcast(from: 0, id: id)
            simulator.run(for: .seconds(1))
            #expect(simulator.stats(for: id).delivered == 100, "message \(id)")
        }
        // Steady state (the last 20 messages): eager links have been pruned to a tree.
        let steady = (UInt64(21)...40).map { simulator.relativeMessageRedundancy($0) }
        let rmr = steady.reduce(0, +) / Double(steady.count)
        #expect(rmr <= 0.1, "mean RMR \(rmr)")
        #expect(simulator.stats(for: 40).lastDeliveryHop > 0)
    }

    @Test func manySendersReachEveryNode() {
        let simulator = Self.network(seed: 2)
        for id in UInt64(1)...50 {
            simulator.broadcast(from: Int(id * 37 % 100), id: id)
        }
        simulator.run(for: .seconds(3))
        for id in UInt64(1)...50 {
            #expect(simulator.stats(for: id).delivered == 100, "message \(id)")
        }
    }

    /// One tree per author: each author's first entry floods, and a second burst from the
    /// same 20 senders travels the trees those floods pruned out, with a tenth of the
    /// duplicates (measured: mean RMR 2.77 for the first burst, 0.24 – 0.29 for the second,
    /// falling to 0.03 – 0.15 by the fourth).
    @Test func aSecondBurstFromManySendersTravelsEachAuthorsTree() {
        let simulator = Self.network(seed: 4)
        func burst(_ first: UInt64) -> Double {
            let ids = first...(first + 19)
            for id in ids { simulator.broadcast(from: Int((id - first) * 37 % 100), id: id) }
            simulator.run(for: .seconds(3))
            for id in ids { #expect(simulator.stats(for: id).delivered == 100, "message \(id)") }
            return ids.map { simulator.relativeMessageRedundancy($0) }.reduce(0, +) / Double(ids.count)
        }
        let first = burst(1)
        let second = burst(21)
        #expect(first > 1, "first entries flood: mean RMR \(first)")
        #expect(second <= 0.5, "mean RMR \(second)")
    }

    /// The broadcast alone reaches nearly every survivor; a node whose links change while an
    /// entry spreads (views churn for seconds after a mass crash) can miss one, and the
    /// anti-entropy round with its new neighbour brings it, as on a real node. (Periodic rounds
    /// are pushed beyond the test, so that they do not race the broadcast being measured.)
    @Test(arguments: [30, 50])
    func survivorsStillGetEverythingAfterMassCrashes(percent: Int) {
        let simulator = GossipSimulator(nodes: 100, seed: 3, antiEntropy: true) { $0.syncInterval = .seconds(3_600) }
        simulator.bootstrap()
        simulator.run(for: .seconds(10))
        for id in UInt64(1)...5 { simulator.broadcast(from: 0, id: id) }
        simulator.run(for: .seconds(1))
        var random = GossipRandom(seed: 99)
        let crashed = Array((1..<100).shuffled(using: &random).prefix(percent))
        simulator.crash(crashed)
        simulator.run(for: .seconds(5))  // failure detection and repair rounds
        let survivors = simulator.aliveNodes.count
        for id in UInt64(100)...110 {
            simulator.broadcast(from: 0, id: id)
            simulator.run(for: .seconds(1))
            let stats = simulator.stats(for: id)
            #expect(stats.held == survivors, "message \(id) after \(percent)% crashed: \(stats)")
            #expect(stats.delivered * 100 >= survivors * 95, "message \(id) after \(percent)% crashed: \(stats)")
        }
    }

    @Test func aPartitionHealsAndConverges() {
        let simulator = Self.network(seed: 4)
        simulator.partition()
        simulator.run(for: .seconds(5))
        simulator.broadcast(from: 0, id: 1)
        simulator.run(for: .seconds(1))
        #expect(simulator.stats(for: 1).delivered <= 50)  // stays in its half
        simulator.heal()
        simulator.run(for: .seconds(10))
        for id in UInt64(2)...6 {
            simulator.broadcast(from: Int(id * 11 % 100), id: id)
            simulator.run(for: .seconds(1))
            #expect(simulator.stats(for: id).delivered == 100, "message \(id) after healing")
        }
    }

    @Test func activeViewsAreSymmetricAndBounded() {
        let simulator = Self.network(seed: 5)
        // A link is added on the accepting side one message before the asking side, so a
        // pair can be one-sided while its reply is in flight; none may stay one-sided.
        func oneSided() -> Set<[Int]> {
            var pairs: Set<[Int]> = []
            for node in 0..<100 {
                for peer in simulator.activeView(of: node) where !simulator.activeView(of: peer).contains(node) {
                    pairs.insert([node, peer])
                }
            }
            return pairs
        }
        let first = oneSided()
        simulator.run(for: .milliseconds(500))
        let second = oneSided()
        #expect(first.intersection(second).isEmpty, "one-sided links persist: \(first.intersection(second))")
        for node in 0..<100 {
            let view = simulator.activeView(of: node)
            #expect(view.count <= 5)
            #expect(!view.isEmpty)
        }
    }
}
