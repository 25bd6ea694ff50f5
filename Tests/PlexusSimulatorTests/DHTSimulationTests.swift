import Foundation
import PlexusProtocol
import PlexusSimulator
import Testing

/// Kademlia (k = 20, α = 3) among 200 simulated nodes: lookups of nodes and of stored
/// values succeed in about log2(N) hops or fewer, and still succeed with 20 % of the nodes gone.
@Suite struct DHTSimulationTests {
    static let nodes = 200

    static func lookups(
        _ network: DHTSimulator, count: Int, seed: UInt64, values: [DHTKey]
    ) -> (nodes: [DHTSimulator.Lookup], values: [DHTSimulator.Lookup]) {
        var random = GossipRandom(seed: seed)
        let alive = network.aliveNodes
        var nodeLookups: [DHTSimulator.Lookup] = []
        var valueLookups: [DHTSimulator.Lookup] = []
        for _ in 0..<count {
            let from = alive.randomElement(using: &random)!
            var target = alive.randomElement(using: &random)!
            while target == from { target = alive.randomElement(using: &random)! }
            nodeLookups.append(network.findNode(from: from, target: target))
            valueLookups.append(network.findValue(from: from, key: values.randomElement(using: &random)!))
        }
        return (nodeLookups, valueLookups)
    }

    static func storeValues(_ network: DHTSimulator, count: Int) -> [DHTKey] {
        (0..<count).map { index in
            let key = DHTKey(hashing: Array("value \(index)".utf8), domain: "test:")
            #expect(network.store(from: index % network.count, key: key, value: [UInt8(index)]) == network.k)
            return key
        }
    }

    @Test func lookupsSucceedInFewHops() {
        let network = DHTSimulator(nodes: Self.nodes, seed: 11)
        let values = Self.storeValues(network, count: 50)
        let (nodeLookups, valueLookups) = Self.lookups(network, count: 300, seed: 5, values: values)
        let log2N = Int(log2(Double(Self.nodes)).rounded(.up))
        #expect(nodeLookups.filter(\.succeeded).count == nodeLookups.count)
        #expect(valueLookups.filter(\.succeeded).count == valueLookups.count)
        let nodeHops = nodeLookups.map(\.hops).max() ?? .max
        let valueHops = valueLookups.map(\.hops).max() ?? .max
        #expect(nodeHops <= log2N)
        #expect(valueHops <= log2N)
        // Every node knows a good share of the network, not just its bootstrap.
        #expect((0..<network.count).allSatisfy { network.tableSize(of: $0) >= network.k })
    }

    @Test func lookupsStillSucceedWithAFifthOfTheNodesGone() {
        let network = DHTSimulator(nodes: Self.nodes, seed: 12)
        let values = Self.storeValues(network, count: 50)
        network.crash(fraction: 0.2)
        #expect(network.aliveNodes.count == Self.nodes - Self.nodes / 5)
        let (nodeLookups, valueLookups) = Self.lookups(network, count: 300, seed: 6, values: values)
        #expect(nodeLookups.filter(\.succeeded).count == nodeLookups.count)
        #expect(valueLookups.filter(\.succeeded).count == valueLookups.count)
        let valueHops = valueLookups.map(\.hops).max() ?? .max
        #expect(valueHops <= Int(log2(Double(Self.nodes)).rounded(.up)))
    }
}
