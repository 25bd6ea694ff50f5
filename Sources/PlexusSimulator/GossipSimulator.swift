import PlexusProtocol

/// Runs many nodes' HyParView + PlumTree state machines on a virtual clock, with per-link
/// latency, message loss, crashes and partitions, and measures delivery, relative message
/// redundancy (RMR) and last delivery hop (LDH). Single-threaded and deterministic for a seed.
public final class GossipSimulator {
    public typealias Membership = HyParView<Int>
    public typealias Broadcast = PlumTree<Int, UInt64, Int>

    enum Envelope {
        case membership(Membership.Message)
        case broadcast(Broadcast.Message)
    }

    enum Event {
        case message(from: Int, to: Int, Envelope)
        /// The transport tells `node` that `peer` is gone.
        case failure(node: Int, peer: Int)
        case tick
    }

    struct Node {
        var membership: Membership
        var broadcast: Broadcast
        var alive = true
        var side = 0
        var contact: Int?
    }

    public struct Stats: Sendable {
        /// Payload (gossip) messages sent for this broadcast.
        public var payloadMessages = 0
        /// Nodes that delivered it, and the hop count of the last one to.
        public var delivered = 0
        public var lastDeliveryHop = 0
    }

    public private(set) var now: Duration = .zero
    private var nodes: [Node] = []
    private var queue = EventQueue()
    private var random: GossipRandom
    private let latency: ClosedRange<Int>
    private let loss: Double
    private let tickInterval: Duration = .milliseconds(10)
    private var stats: [UInt64: Stats] = [:]
    private var partitioned = false
    /// Latest arrival time per ordered pair: links are FIFO, as a TCP connection is.
    private var linkClock: [Int: Duration] = [:]

    /// - Parameters:
    ///   - latency: one-way latency per message, uniformly in this range of milliseconds.
    ///   - loss: probability that a broadcast-layer message is lost in transit.
    public init(
        nodes count: Int, seed: UInt64, latency: ClosedRange<Int> = 10...50, loss: Double = 0,
        membership: Membership.Config = .init(), broadcast: Broadcast.Config = .init()
    ) {
        random = GossipRandom(seed: seed)
        self.latency = latency
        self.loss = loss
        for index in 0..<count {
            nodes.append(Node(membership: Membership(me: index, config: membership, seed: seed &+ UInt64(index) &* 7919),
                              broadcast: Broadcast(config: broadcast)))
        }
        queue.push(at: tickInterval, .tick)
    }

    public var nodeCount: Int { nodes.count }
    public var aliveNodes: [Int] { nodes.indices.filter { nodes[$0].alive } }

    /// Every node after the first joins through a random earlier one, one every `spacing`.
    public func bootstrap(spacing: Duration = .milliseconds(20)) {
        for index in 1..<nodes.count {
            run(for: spacing)
            let contact = Int.random(in: 0..<index, using: &random)
            nodes[index].contact = contact
            apply(nodes[index].membership.join(via: contact), at: index)
        }
    }

    /// Advances the virtual clock, processing everything due.
    public func run(for duration: Duration) {
        let end = now + duration
        while let next = queue.peekTime, next <= end {
            let (time, event) = queue.pop()
            now = time
            process(event)
        }
        now = end
    }

    /// Publishes message `id` from `node`.
    public func broadcast(from node: Int, id: UInt64) {
        stats[id] = Stats()
        let actions = nodes[node].broadcast.broadcast(id: id, payload: node, now: now)
        apply(actions, at: node)
    }

    public func stats(for id: UInt64) -> Stats { stats[id] ?? Stats() }

    /// RMR of a broadcast: payload messages / (receivers - 1) - 1.
    public func relativeMessageRedundancy(_ id: UInt64) -> Double {
        let entry = stats(for: id)
        guard entry.delivered > 1 else { return 0 }
        return Double(entry.payloadMessages) / Double(entry.delivered - 1) - 1
    }

    /// Crashes nodes at once: they stop; their neighbours' connections fail.
    public func crash(_ crashed: [Int]) {
        for node in crashed where nodes[node].alive {
            nodes[node].alive = false
            for peer in nodes[node].membership.active where nodes[peer].alive {
                queue.push(at: now + oneWay(), .failure(node: peer, peer: node))
            }
        }
    }

    /// Splits the nodes into two halves that cannot reach each other.
    public func partition() {
        partitioned = true
        for index in nodes.indices { nodes[index].side = index < nodes.count / 2 ? 0 : 1 }
        for index in nodes.indices where nodes[index].alive {
            for peer in nodes[index].membership.active where nodes[peer].side != nodes[index].side {
                queue.push(at: now + oneWay(), .failure(node: index, peer: peer))
            }
        }
    }

    /// Reconnects the halves; nodes redial their bootstrap contact, as `--peer` does.
    public func heal() {
        partitioned = false
        for index in nodes.indices where nodes[index].alive {
            guard let contact = nodes[index].contact, nodes[contact].alive,
                  !nodes[index].membership.active.contains(contact) else { continue }
            apply(nodes[index].membership.join(via: contact), at: index)
        }
    }

    public func activeView(of node: Int) -> [Int] { nodes[node].membership.active }

    // MARK: - Engine

    private func process(_ event: Event) {
        switch event {
        case .tick:
            for index in nodes.indices where nodes[index].alive {
                apply(nodes[index].membership.tick(now: now), at: index)
                apply(nodes[index].broadcast.tick(now: now), at: index)
            }
            queue.push(at: now + tickInterval, .tick)
        case .failure(let node, let peer):
            guard nodes[node].alive else { return }
            apply(nodes[node].membership.peerFailed(peer, now: now), at: node)
        case .message(let from, let to, let envelope):
            guard nodes[to].alive, reachable(from, to) else {
                if nodes[from].alive { queue.push(at: now + oneWay(), .failure(node: from, peer: to)) }
                return
            }
            switch envelope {
            case .membership(let message):
                apply(nodes[to].membership.handle(message, from: from, now: now), at: to)
            case .broadcast(let message):
                // Broadcast traffic only flows between neighbours.
                guard nodes[to].membership.active.contains(from) else { return }
                apply(nodes[to].broadcast.handle(message, from: from, now: now), at: to)
            }
        }
    }

    private func apply(_ actions: [Membership.Action], at node: Int) {
        for action in actions {
            switch action {
            case .send(let peer, let message):
                send(.membership(message), from: node, to: peer)
            case .neighborUp(let peer):
                nodes[node].broadcast.neighborUp(peer)
            case .neighborDown(let peer):
                nodes[node].broadcast.neighborDown(peer)
            }
        }
    }

    private func apply(_ actions: [Broadcast.Action], at node: Int) {
        for action in actions {
            switch action {
            case .send(let peer, let message):
                if case .gossip(let id, _, _) = message { stats[id, default: Stats()].payloadMessages += 1 }
                if loss > 0, Double.random(in: 0..<1, using: &random) < loss { continue }
                send(.broadcast(message), from: node, to: peer)
            case .deliver(let id, _, let round):
                stats[id, default: Stats()].delivered += 1
                stats[id, default: Stats()].lastDeliveryHop = max(stats[id]?.lastDeliveryHop ?? 0, round)
            }
        }
    }

    private func send(_ envelope: Envelope, from: Int, to: Int) {
        let link = from * nodes.count + to
        let arrival = max(now + oneWay(), linkClock[link] ?? .zero)
        linkClock[link] = arrival
        queue.push(at: arrival, .message(from: from, to: to, envelope))
    }

    private func reachable(_ a: Int, _ b: Int) -> Bool {
        !partitioned || nodes[a].side == nodes[b].side
    }

    private func oneWay() -> Duration {
        .milliseconds(Int.random(in: latency, using: &random))
    }
}

/// A binary heap of events by time (ties in insertion order).
struct EventQueue {
    private var heap: [(time: Duration, order: Int, event: GossipSimulator.Event)] = []
    private var counter = 0

    var peekTime: Duration? { heap.first?.time }

    mutating func push(at time: Duration, _ event: GossipSimulator.Event) {
        counter += 1
        heap.append((time, counter, event))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (Duration, GossipSimulator.Event) {
        let top = heap[0]
        heap[0] = heap[heap.count - 1]
        heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, less(left, smallest) { smallest = left }
            if right < heap.count, less(right, smallest) { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (top.time, top.event)
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        heap[a].time < heap[b].time || (heap[a].time == heap[b].time && heap[a].order < heap[b].order)
    }
}
