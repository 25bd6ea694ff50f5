import PlexusProtocol

/// Runs many nodes' Kademlia routing tables and lookups (`RoutingTable`, `DHTLookup`) with
/// direct, instant queries: a query to a dead node fails. Measures whether lookups succeed,
/// their hop counts and query counts. Single-threaded and deterministic for a seed.
public final class DHTSimulator {
    public typealias Contact = RoutingTable<Int>.Contact

    struct Node {
        let key: DHTKey
        var table: RoutingTable<Int>
        var values: [DHTKey: [UInt8]] = [:]
        var alive = true
    }

    /// What one lookup did.
    public struct Lookup: Sendable {
        /// The target node was among the closest found / the value was found.
        public var succeeded: Bool
        /// How many hops from the seeds the answer was.
        public var hops: Int
        /// Rounds of up to `alpha` parallel queries.
        public var rounds: Int
        public var queries: Int
    }

    public let k: Int
    public let alpha: Int
    private var nodes: [Node] = []
    private var random: GossipRandom

    /// Builds a network of `count` nodes, each joining through a random earlier node by
    /// looking up its own key, then refreshing one random key per bucket range it knows.
    public init(nodes count: Int, seed: UInt64, k: Int = 20, alpha: Int = 3) {
        self.k = k
        self.alpha = alpha
        random = GossipRandom(seed: seed)
        for index in 0..<count {
            let key = DHTKey(random: &random)
            nodes.append(Node(key: key, table: RoutingTable(me: key, k: k)))
            guard index > 0 else { continue }
            let bootstrap = Int.random(in: 0..<index, using: &random)
            nodes[index].table.observe(contact(bootstrap))
            _ = lookup(from: index, target: key, wantsValue: false)
        }
        for index in 0..<count {
            _ = lookup(from: index, target: DHTKey(random: &random), wantsValue: false)
        }
    }

    public var count: Int { nodes.count }

    public var aliveNodes: [Int] { nodes.indices.filter { nodes[$0].alive } }

    public func key(of node: Int) -> DHTKey { nodes[node].key }

    /// Contacts in a node's routing table.
    public func tableSize(of node: Int) -> Int { nodes[node].table.count }

    /// Crashes `fraction` of the nodes, chosen at random (never `keep`).
    public func crash(fraction: Double, keep: Set<Int> = []) {
        var candidates = aliveNodes.filter { !keep.contains($0) }
        candidates.shuffle(using: &random)
        for node in candidates.prefix(Int(Double(nodes.count) * fraction)) { nodes[node].alive = false }
    }

    /// `from` looks for node `target`'s key.
    public func findNode(from: Int, target: Int) -> Lookup {
        var result = lookup(from: from, target: nodes[target].key, wantsValue: false)
        result.summary.succeeded = result.closestPeers.contains(target)
        return result.summary
    }

    /// `from` stores `value` under `key` on the k closest live nodes it finds; returns how many.
    @discardableResult
    public func store(from: Int, key: DHTKey, value: [UInt8]) -> Int {
        let holders = lookup(from: from, target: key, wantsValue: false).closestPeers
        for holder in holders { nodes[holder].values[key] = value }
        return holders.count
    }

    /// `from` looks up the value under `key`.
    public func findValue(from: Int, key: DHTKey) -> Lookup {
        if nodes[from].values[key] != nil { return Lookup(succeeded: true, hops: 0, rounds: 0, queries: 0) }
        return lookup(from: from, target: key, wantsValue: true).summary
    }

    private func contact(_ node: Int) -> Contact {
        Contact(key: nodes[node].key, peer: node)
    }

    private struct Outcome {
        var summary: Lookup
        var closestPeers: [Int]
    }

    private func lookup(from: Int, target: DHTKey, wantsValue: Bool) -> Outcome {
        var lookup = DHTLookup<Int>(
            target: target, seeds: nodes[from].table.closest(to: target, count: k), k: k, alpha: alpha,
            wantsValue: wantsValue, exclude: from)
        var rounds = 0
        while !lookup.isFinished {
            let batch = lookup.nextQueries()
            if batch.isEmpty { break }
            rounds += 1
            for queried in batch {
                guard nodes[queried.peer].alive else {
                    lookup.failed(queried)
                    nodes[from].table.remove(queried)
                    continue
                }
                // Both ends learn of each other, as a real query and answer teach them.
                nodes[queried.peer].table.observe(contact(from))
                nodes[from].table.observe(queried)
                let closer = nodes[queried.peer].table.closest(to: target, count: k)
                lookup.answered(by: queried, closer: closer, value: wantsValue ? nodes[queried.peer].values[target] : nil)
            }
        }
        let found = lookup.found
        return Outcome(
            summary: Lookup(succeeded: found != nil, hops: found?.hops ?? lookup.hops, rounds: rounds, queries: lookup.queries),
            closestPeers: lookup.closest.map(\.peer))
    }
}
