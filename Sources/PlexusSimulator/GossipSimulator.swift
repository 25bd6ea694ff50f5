import Foundation
import PlexusCore
import PlexusProtocol

/// Runs many nodes' production gossip state machines (`GossipState`, with the
/// configuration the node runs) on a virtual clock over a simulated network: connections
/// that come up when a node dials, per-link latency (FIFO, as TCP), crashes and partitions.
/// It measures delivery, relative message redundancy (RMR) and last delivery hop (LDH) of
/// real signed entries. Anti-entropy, when enabled, is modelled by its outcome (a round with
/// a neighbour brings what the neighbour holds after two round trips); the session itself is
/// simulated on its own (FeedSyncSession). Single-threaded; deterministic for a seed up to
/// the order of hashed collections.
public final class GossipSimulator {
    enum Event {
        case message(from: Int, to: Int, Plexus_Gossip)
        /// A connection between `node` and `peer` came up or went down, as `node` sees it;
        /// `bootstrap`: `node` dialled its bootstrap contact.
        case peerUp(node: Int, peer: Int, bootstrap: Bool)
        case peerDown(node: Int, peer: Int)
        /// A dial by `node` ended; on success its messages follow on the new link.
        case dialed(node: Int, peer: Int, ok: Bool, [Plexus_Gossip])
        /// An anti-entropy round of `node` with `peer` ended: `node` now holds what `peer` holds.
        case caughtUp(node: Int, peer: Int)
        case tick
    }

    struct Node {
        let key: AgentKey
        var state: GossipState
        var alive = true
        var side = 0
        var contact: Int?
        var published: UInt64 = 0
        var head: EntryID?
        /// Entries this node holds (published, delivered or caught up).
        var held: Set<EntryID> = []
    }

    public struct Stats: Sendable {
        /// Pushes (entry-carrying messages) sent for this broadcast.
        public var payloadMessages = 0
        /// Nodes that delivered it by gossip (the origin included), and the hop count of the
        /// last one.
        public var delivered = 0
        public var lastDeliveryHop = 0
        /// Nodes that got it from anti-entropy instead.
        public var caughtUp = 0
        /// Nodes that hold it by either way.
        public var held: Int { delivered + caughtUp }
    }

    public private(set) var now: Duration = .zero
    private var nodes: [Node] = []
    private var index: [AgentID: Int] = [:]
    private var connections: Set<[Int]> = []
    private var queue = EventQueue()
    private var random: GossipRandom
    private let latency: ClosedRange<Int>
    private let loss: Double
    private let antiEntropy: Bool
    /// The production engine ticks every 25 ms.
    private let tickInterval: Duration = .milliseconds(25)
    private let epochMs: Int64 = 1_767_225_600_000
    private var stats: [EntryID: Stats] = [:]
    private var ids: [UInt64: EntryID] = [:]
    private var partitioned = false
    /// Latest arrival time per ordered pair: links are FIFO, as a TCP connection is.
    private var linkClock: [Int: Duration] = [:]

    /// - Parameters:
    ///   - latency: one-way latency per message, uniformly in this range of milliseconds.
    ///   - loss: probability that a broadcast message (push, IHAVE, GRAFT, PRUNE) is lost.
    ///   - antiEntropy: run anti-entropy rounds (on a new neighbour and every sync interval),
    ///     as the node does; off, only the broadcast delivers.
    ///   - configure: changes to the production configuration (none by default).
    public init(
        nodes count: Int, seed: UInt64, latency: ClosedRange<Int> = 10...50, loss: Double = 0,
        antiEntropy: Bool = false, configure: (inout GossipState.Config) -> Void = { _ in }
    ) {
        random = GossipRandom(seed: seed)
        self.latency = latency
        self.loss = loss
        self.antiEntropy = antiEntropy
        for number in 0..<count {
            var seedBytes: [UInt8] = []
            for _ in 0..<4 { withUnsafeBytes(of: random.next()) { seedBytes.append(contentsOf: $0) } }
            // 32 bytes from the seeded generator are always a valid Ed25519 seed.
            let key = try! AgentKey(seed: seedBytes)
            var config = GossipState.Config(me: key.id)
            configure(&config)
            var state = GossipState(config: config, now: GossipState.Now(elapsed: .zero, wallMs: epochMs))
            _ = state.handle(.setAdvertised("127.0.0.1:\(20_000 + number)"), now: GossipState.Now(elapsed: .zero, wallMs: epochMs))
            index[key.id] = number
            nodes.append(Node(key: key, state: state))
        }
        queue.push(at: tickInterval, .tick)
    }

    public var nodeCount: Int { nodes.count }
    public var aliveNodes: [Int] { nodes.indices.filter { nodes[$0].alive } }

    /// Every node after the first dials a random earlier one (its `--peer`), one every
    /// `spacing`.
    public func bootstrap(spacing: Duration = .milliseconds(20)) {
        for number in 1..<nodes.count {
            run(for: spacing)
            let contact = Int.random(in: 0..<number, using: &random)
            nodes[number].contact = contact
            connect(number, contact, bootstrap: true)
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

    /// Publishes a new entry of `node`'s feed into `mesh`, known to the caller as `id`.
    public func broadcast(from node: Int, id: UInt64) {
        nodes[node].published += 1
        let draft = EntryDraft(content: .object(["n": .integer(Int64(clamping: id))]))
        // A draft with only content always makes a valid body and entry.
        let body = try! draft.body(seq: nodes[node].published, prev: nodes[node].head, timeMs: wallMs)
        let entry = try! SignedEntry(signing: body, with: nodes[node].key)
        nodes[node].head = entry.id
        nodes[node].held.insert(entry.id)
        ids[id] = entry.id
        stats[entry.id] = Stats(payloadMessages: 0, delivered: 1, lastDeliveryHop: 0)
        handle(.spread(entry), at: node)
    }

    public func stats(for id: UInt64) -> Stats { ids[id].flatMap { stats[$0] } ?? Stats() }

    /// RMR of a broadcast: payload messages / (receivers - 1) - 1.
    public func relativeMessageRedundancy(_ id: UInt64) -> Double {
        let entry = stats(for: id)
        guard entry.delivered > 1 else { return 0 }
        return Double(entry.payloadMessages) / Double(entry.delivered - 1) - 1
    }

    /// Crashes nodes at once: they stop; their peers' connections fail.
    public func crash(_ crashed: [Int]) {
        for node in crashed where nodes[node].alive {
            nodes[node].alive = false
            for pair in connections where pair.contains(node) {
                disconnect(pair[0], pair[1])
            }
        }
    }

    /// Splits the nodes into two halves that cannot reach each other.
    public func partition() {
        partitioned = true
        for number in nodes.indices { nodes[number].side = number < nodes.count / 2 ? 0 : 1 }
        for pair in connections where nodes[pair[0]].side != nodes[pair[1]].side {
            disconnect(pair[0], pair[1])
        }
    }

    /// Reconnects the halves; nodes redial their bootstrap contact, as `--peer` does.
    public func heal() {
        partitioned = false
        for number in nodes.indices where nodes[number].alive {
            guard let contact = nodes[number].contact, nodes[contact].alive else { continue }
            connect(number, contact, bootstrap: true)
        }
    }

    /// A node's gossip state (for inspection in tests).
    public func state(of node: Int) -> GossipState { nodes[node].state }

    /// A node's active view in `mesh`, as node numbers.
    public func activeView(of node: Int) -> [Int] {
        nodes[node].state.neighbors(in: TopicName.mesh).compactMap { index[$0] }
    }

    // MARK: - Engine

    private var wallMs: Int64 { epochMs + Int64(now / .milliseconds(1)) }

    private func process(_ event: Event) {
        switch event {
        case .tick:
            for number in nodes.indices where nodes[number].alive { handle(.tick, at: number) }
            queue.push(at: now + tickInterval, .tick)
        case .peerUp(let node, let peer, let bootstrap):
            guard nodes[node].alive, connected(node, peer) else { return }
            handle(.peerUp(nodes[peer].key.id, ip: "127.0.0.1", bootstrap: bootstrap), at: node)
        case .peerDown(let node, let peer):
            guard nodes[node].alive else { return }
            handle(.peerDown(nodes[peer].key.id), at: node)
        case .dialed(let node, let peer, let ok, let messages):
            guard nodes[node].alive else { return }
            if ok { for message in messages { send(message, from: node, to: peer) } }
            handle(.dialed(nodes[peer].key.id, ok: ok), at: node)
        case .message(let from, let to, let message):
            // A message in flight when its link went down is lost with it.
            guard nodes[to].alive, connected(from, to) else { return }
            var round: Int?
            if case .push(let push)? = message.kind { round = Int(push.round) }
            handle(.received(message, from: nodes[from].key.id), at: to, round: round)
        case .caughtUp(let node, let peer):
            guard nodes[node].alive, connected(node, peer) else { return }
            for id in nodes[peer].held.subtracting(nodes[node].held) {
                nodes[node].held.insert(id)
                stats[id, default: Stats()].caughtUp += 1
            }
        }
    }

    /// Hands an event to a node's state machine and carries out its actions. `round` is the
    /// hop count of the push being handled: what a delivery it causes is counted at.
    private func handle(_ event: GossipState.Event, at node: Int, round: Int? = nil) {
        let actions = nodes[node].state.handle(event, now: GossipState.Now(elapsed: now, wallMs: wallMs))
        // As the engine does: messages to one peer go out together, and a peer without a
        // connection is reported once per batch.
        var unreachable: [(peer: AgentID, messages: [Plexus_Gossip])] = []
        for action in actions {
            switch action {
            case .send(let peer, let message):
                guard let target = index[peer] else { continue }
                if case .push(let push)? = message.kind, let id = SignedEntry.id(ofEncoded: push.entry) {
                    stats[id, default: Stats()].payloadMessages += 1
                }
                if connected(node, target) {
                    if loss > 0, Self.isBroadcast(message), Double.random(in: 0..<1, using: &random) < loss { continue }
                    send(message, from: node, to: target)
                } else if let slot = unreachable.firstIndex(where: { $0.peer == peer }) {
                    unreachable[slot].messages.append(message)
                } else {
                    unreachable.append((peer, [message]))
                }
            case .dial(let peer, _, let messages):
                guard let target = index[peer] else { continue }
                // A dial ends after the connection is up on both sides (as the transport
                // registers a connection before its dial returns), or fails after a round trip.
                let ok = nodes[target].alive && reachable(node, target)
                let arrival = (ok ? connect(node, target) : nil) ?? now + oneWay()
                queue.push(at: arrival, .dialed(node: node, peer: target, ok: ok, messages))
            case .deliver(let entry):
                guard nodes[node].held.insert(entry.id).inserted else { continue }  // caught up first
                stats[entry.id, default: Stats()].delivered += 1
                stats[entry.id, default: Stats()].lastDeliveryHop = max(stats[entry.id]?.lastDeliveryHop ?? 0, round ?? 0)
            case .disconnect(let peer):
                if let target = index[peer] { disconnect(node, target) }
            case .neighborUp(let peer, _), .syncRound(let peer, _):
                // The round's outcome after two round trips (heads, then wants and the stream).
                guard antiEntropy, let target = index[peer] else { continue }
                queue.push(at: now + oneWay() + oneWay() + oneWay() + oneWay(), .caughtUp(node: node, peer: target))
            case .strike, .antiEntropy, .keptRecord:
                break
            }
        }
        for (peer, messages) in unreachable {
            handle(.unreachable(peer, messages), at: node)
        }
    }

    private static func isBroadcast(_ message: Plexus_Gossip) -> Bool {
        switch message.kind {
        case .push, .ihave, .graft, .prune: true
        default: false
        }
    }

    private func connected(_ a: Int, _ b: Int) -> Bool { connections.contains([min(a, b), max(a, b)]) }

    /// Opens a connection (if the two can reach each other): both see the peer come up.
    /// Returns when, nil when no new connection was made.
    /// `bootstrap`: `a` dials its contact (as `--peer` does, at start and after a drop).
    @discardableResult
    private func connect(_ a: Int, _ b: Int, bootstrap: Bool = false) -> Duration? {
        guard a != b, nodes[a].alive, nodes[b].alive, reachable(a, b), !connected(a, b) else { return nil }
        connections.insert([min(a, b), max(a, b)])
        let arrival = now + oneWay()
        queue.push(at: arrival, .peerUp(node: a, peer: b, bootstrap: bootstrap))
        queue.push(at: arrival, .peerUp(node: b, peer: a, bootstrap: false))
        return arrival
    }

    /// Closes a connection: both sides (the living ones) see the peer go down.
    private func disconnect(_ a: Int, _ b: Int) {
        guard connections.remove([min(a, b), max(a, b)]) != nil else { return }
        let arrival = now + oneWay()
        queue.push(at: arrival, .peerDown(node: a, peer: b))
        queue.push(at: arrival, .peerDown(node: b, peer: a))
    }

    private func send(_ message: Plexus_Gossip, from: Int, to: Int) {
        let link = from * nodes.count + to
        let arrival = max(now + oneWay(), linkClock[link] ?? .zero)
        linkClock[link] = arrival
        queue.push(at: arrival, .message(from: from, to: to, message))
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
