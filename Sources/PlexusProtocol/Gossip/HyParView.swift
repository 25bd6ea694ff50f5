/// HyParView membership (Leitão, Pereira, Rodrigues, DSN 2007) for one topic, as a sans-IO
/// state machine: a small symmetric *active view* of neighbours that messages travel over,
/// and a larger *passive view* of known peers to repair it from. Inputs are messages,
/// transport failures and clock ticks; outputs are `HyParViewAction`s.
public struct HyParView<Peer: Hashable & Sendable>: Sendable {
    public struct Config: Sendable {
        public var activeCapacity = 5
        public var passiveCapacity = 30
        /// Active and passive random-walk lengths of FORWARDJOIN.
        public var activeRandomWalkLength = 6
        public var passiveRandomWalkLength = 3
        public var shuffleInterval: Duration = .seconds(30)
        public var shuffleRandomWalkLength = 6
        public var shuffleActiveCount = 3
        public var shufflePassiveCount = 4
        /// How often an under-full active view asks a passive peer to become a neighbour.
        public var repairInterval: Duration = .seconds(1)
        /// How long the active view must have been under-full, every passive peer having
        /// refused, before a request is high priority (see `repair`). Long enough that in a
        /// healthy overlay, where a few views are always one short, the evictions it causes
        /// are rare; short enough that an island merges within a simulated warm-up.
        public var escalateAfter: Duration = .seconds(10)

        public init() {}
    }

    public enum Message: Sendable, Equatable {
        case join
        case forwardJoin(peer: Peer, ttl: Int)
        case neighbor(highPriority: Bool)
        case neighborReply(accepted: Bool)
        /// The sender dropped us from its active view.
        case disconnect
        case shuffle(origin: Peer, ttl: Int, peers: [Peer])
        case shuffleReply(peers: [Peer])
    }

    public enum Action: Sendable, Equatable {
        case send(to: Peer, Message)
        /// `peer` joined the active view (broadcast layers start using the link).
        case neighborUp(Peer)
        /// `peer` left the active view.
        case neighborDown(Peer)
    }

    public let me: Peer
    public let config: Config
    public private(set) var active: [Peer] = []
    public private(set) var passive: [Peer] = []
    private var pendingNeighbor: Set<Peer> = []
    /// Passive peers that refused a low-priority NEIGHBOR since the active view was last
    /// full. Once every passive peer has refused, the next request is high priority.
    private var refused: Set<Peer> = []
    /// Since when the active view has been under-full (nil while full).
    private var underFullSince: Duration?
    private var random: GossipRandom
    private var nextShuffle: Duration
    private var nextRepair: Duration = .zero

    public init(me: Peer, config: Config = Config(), seed: UInt64, now: Duration = .zero) {
        self.me = me
        self.config = config
        self.random = GossipRandom(seed: seed)
        self.nextShuffle = now + config.shuffleInterval
    }

    /// Joins the overlay through `contact`.
    public mutating func join(via contact: Peer) -> [Action] {
        guard contact != me else { return [] }
        var actions = addActive(contact)
        actions.append(.send(to: contact, .join))
        return actions
    }

    /// Handles a message from `from`.
    public mutating func handle(_ message: Message, from: Peer, now: Duration) -> [Action] {
        guard from != me else { return [] }
        var actions: [Action] = []
        switch message {
        case .join:
            actions += addActive(from)
            for peer in active where peer != from {
                actions.append(.send(to: peer, .forwardJoin(peer: from, ttl: config.activeRandomWalkLength)))
            }
        case .forwardJoin(let peer, let ttl):
            guard peer != me else { break }
            if ttl <= 0 || active.count <= 1 {
                if !active.contains(peer) {
                    actions += addActive(peer)
                    actions.append(.send(to: peer, .neighbor(highPriority: true)))
                }
            } else {
                if ttl == config.passiveRandomWalkLength { addPassive([peer]) }
                if let next = randomActive(excluding: [from, peer]) {
                    actions.append(.send(to: next, .forwardJoin(peer: peer, ttl: ttl - 1)))
                } else if !active.contains(peer) {
                    actions += addActive(peer)
                    actions.append(.send(to: peer, .neighbor(highPriority: true)))
                }
            }
        case .neighbor(let highPriority):
            if active.contains(from) {
                actions.append(.send(to: from, .neighborReply(accepted: true)))
            } else if highPriority || active.count < config.activeCapacity {
                actions += addActive(from)
                actions.append(.send(to: from, .neighborReply(accepted: true)))
            } else {
                actions.append(.send(to: from, .neighborReply(accepted: false)))
            }
        case .neighborReply(let accepted):
            // Only an answer to our own pending request counts: a reply to the request sent
            // when a FORWARDJOIN added the peer must not re-add a peer we dropped since.
            let asked = pendingNeighbor.remove(from) != nil
            if accepted {
                if asked && !active.contains(from) { actions += addActive(from) }
            } else {
                if asked { refused.insert(from) }
                // The next candidate is asked at the next repair interval, not at once: in an
                // overlay whose views are all full, immediate retries never stop.
                actions += repair(now: now, force: false, excluding: [from])
            }
        case .disconnect:
            if let index = active.firstIndex(of: from) {
                active.remove(at: index)
                addPassive([from])
                actions.append(.neighborDown(from))
                actions += repair(now: now, force: true, excluding: [from])
            }
        case .shuffle(let origin, let ttl, let peers):
            if ttl > 0, active.count > 1, let next = randomActive(excluding: [from, origin]) {
                actions.append(.send(to: next, .shuffle(origin: origin, ttl: ttl - 1, peers: peers)))
            } else if origin != me {
                let reply = sample(passive, count: peers.count)
                actions.append(.send(to: origin, .shuffleReply(peers: reply)))
                addPassive(peers)
            }
        case .shuffleReply(let peers):
            addPassive(peers)
        }
        return actions
    }

    /// The transport lost `peer` (closed, unreachable, timed out).
    public mutating func peerFailed(_ peer: Peer, now: Duration) -> [Action] {
        passive.removeAll { $0 == peer }
        pendingNeighbor.remove(peer)
        guard let index = active.firstIndex(of: peer) else {
            return repair(now: now, force: true, excluding: [peer])
        }
        active.remove(at: index)
        return [.neighborDown(peer)] + repair(now: now, force: true, excluding: [peer])
    }

    /// Periodic work: shuffles, and repair of an under-full active view.
    public mutating func tick(now: Duration) -> [Action] {
        var actions = repair(now: now, force: false, excluding: [])
        if now >= nextShuffle {
            nextShuffle = now + config.shuffleInterval
            if let target = randomActive(excluding: []) {
                let peers = [me] + sample(active.filter { $0 != target }, count: config.shuffleActiveCount)
                    + sample(passive, count: config.shufflePassiveCount)
                actions.append(.send(to: target, .shuffle(origin: me, ttl: config.shuffleRandomWalkLength, peers: peers)))
            }
        }
        return actions
    }

    // MARK: - Views

    private mutating func addActive(_ peer: Peer) -> [Action] {
        guard peer != me, !active.contains(peer) else { return [] }
        var actions: [Action] = []
        if active.count >= config.activeCapacity, let dropped = randomActive(excluding: [peer]) {
            active.removeAll { $0 == dropped }
            addPassive([dropped])
            actions.append(.send(to: dropped, .disconnect))
            actions.append(.neighborDown(dropped))
        }
        passive.removeAll { $0 == peer }
        pendingNeighbor.remove(peer)
        active.append(peer)
        if active.count >= config.activeCapacity {
            refused.removeAll()
            underFullSince = nil
        }
        actions.append(.neighborUp(peer))
        return actions
    }

    private mutating func addPassive(_ peers: [Peer]) {
        for peer in peers where peer != me && !active.contains(peer) && !passive.contains(peer) {
            if passive.count >= config.passiveCapacity {
                passive.remove(at: Int.random(in: 0..<passive.count, using: &random))
            }
            passive.append(peer)
        }
    }

    /// Asks a passive peer to become a neighbour when the active view is not full: at low
    /// priority (a full peer refuses), and at high priority (the peer makes room) once
    /// every passive peer has refused and the view has been under-full for
    /// `escalateAfter`. Without the escalation a few nodes whose views hold each other and
    /// whose passive peers are all full stay an island for good; escalating sooner evicts
    /// often in a healthy overlay, and every eviction rebuilds broadcast trees.
    private mutating func repair(now: Duration, force: Bool, excluding: Set<Peer>) -> [Action] {
        guard active.count + pendingNeighbor.count < config.activeCapacity else { return [] }
        let since = underFullSince ?? now
        underFullSince = since
        guard force || now >= nextRepair else { return [] }
        nextRepair = now + config.repairInterval
        refused.formIntersection(passive)
        let candidates = passive.filter { !excluding.contains($0) && !pendingNeighbor.contains($0) }
        var unasked = candidates.filter { !refused.contains($0) }
        let escalate = unasked.isEmpty && now - since >= config.escalateAfter
        if unasked.isEmpty && !escalate {
            // Every passive peer refused, but not for long enough: ask them again, low.
            refused.removeAll()
            unasked = candidates
        }
        let highPriority = active.isEmpty || escalate
        guard let candidate = (escalate ? candidates : unasked).randomElement(using: &random) else { return [] }
        if escalate {
            refused.removeAll()
            underFullSince = now
        }
        pendingNeighbor.insert(candidate)
        return [.send(to: candidate, .neighbor(highPriority: highPriority))]
    }

    private mutating func randomActive(excluding: Set<Peer>) -> Peer? {
        active.filter { !excluding.contains($0) }.randomElement(using: &random)
    }

    private mutating func sample(_ peers: [Peer], count: Int) -> [Peer] {
        Array(peers.shuffled(using: &random).prefix(count))
    }
}
