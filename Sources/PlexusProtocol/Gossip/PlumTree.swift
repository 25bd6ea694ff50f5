/// PlumTree epidemic broadcast trees (Leitão, Pereira, Rodrigues, SRDS 2007) for one topic,
/// as a sans-IO state machine. Payloads are pushed eagerly along a spanning tree of the
/// neighbours; the other neighbours get batched IHAVE announcements and GRAFT a missing
/// message (repairing the tree) when it does not arrive in time. Duplicates PRUNE a link
/// to lazy. Every node forwards every message it receives, not only its own.
public struct PlumTree<Peer: Hashable & Sendable, MessageID: Hashable & Sendable, Payload: Sendable>: Sendable {
    public struct Config: Sendable {
        /// How often queued IHAVE announcements are sent, batched per neighbour.
        public var ihaveInterval: Duration = .milliseconds(50)
        /// Wait after the first IHAVE for a missing message before GRAFTing.
        public var graftTimeout: Duration = .milliseconds(80)
        /// Wait before GRAFTing the next announcer when the first graft did not help.
        public var graftRetry: Duration = .milliseconds(40)
        /// How long payloads stay available for GRAFTs, and ids for duplicate detection.
        public var cacheDuration: Duration = .seconds(60)
        /// Most ids in one IHAVE batch.
        public var maxIHaveBatch = 256
        /// Tree optimisation: when a lazy link announces a message this many hops fewer than
        /// the eager path delivered it, that link is grafted and the eager one pruned.
        public var optimizationThreshold = 4
        /// Bound on remembered ids (cache, received, missing); oldest go first.
        public var maxTrackedMessages = 100_000

        public init() {}
    }

    public enum Message: Sendable {
        case gossip(id: MessageID, payload: Payload, round: Int)
        case ihave([Announcement])
        case graft(id: MessageID?, round: Int)
        case prune
    }

    public struct Announcement: Sendable, Equatable {
        public let id: MessageID
        public let round: Int

        public init(id: MessageID, round: Int) {
            self.id = id
            self.round = round
        }
    }

    public enum Action: Sendable {
        case send(to: Peer, Message)
        /// A message reached this node for the first time, `round` hops from its origin.
        case deliver(id: MessageID, payload: Payload, round: Int)
    }

    public let config: Config
    public private(set) var eager: Set<Peer> = []
    public private(set) var lazy: Set<Peer> = []
    private var cache: [MessageID: (payload: Payload, round: Int)] = [:]
    private var received: Set<MessageID> = []
    private var missing: [MessageID: [Announcer]] = [:]
    private var graftDeadline: [MessageID: Duration] = [:]
    private var lazyQueue: [Peer: [Announcement]] = [:]
    private var nextIHave: Duration = .zero
    /// Remembered ids in arrival order, which is also expiry order: expiry and eviction
    /// take from the front instead of scanning everything.
    private var arrivals: [(id: MessageID, expires: Duration)] = []
    private var arrivalsStart = 0

    private struct Announcer: Sendable {
        let peer: Peer
        let round: Int
    }

    public init(config: Config = Config()) {
        self.config = config
    }

    /// Whether a message with this id was received (and is still remembered). A receiver
    /// can skip costly checks of a payload it already has: handling it is a duplicate.
    public func hasReceived(_ id: MessageID) -> Bool {
        received.contains(id)
    }

    /// Publishes a message from this node.
    public mutating func broadcast(id: MessageID, payload: Payload, now: Duration) -> [Action] {
        guard !received.contains(id) else { return [] }
        remember(id, payload: payload, round: 0, now: now)
        return [.deliver(id: id, payload: payload, round: 0)] + push(id: id, payload: payload, round: 1, except: nil)
    }

    public mutating func handle(_ message: Message, from: Peer, now: Duration) -> [Action] {
        switch message {
        case .gossip(let id, let payload, let round):
            if received.contains(id) {
                // A duplicate: this link is redundant for the tree.
                guard eager.contains(from) else { return [] }
                eager.remove(from)
                lazy.insert(from)
                return [.send(to: from, .prune)]
            }
            remember(id, payload: payload, round: round, now: now)
            var actions: [Action] = [.deliver(id: id, payload: payload, round: round)]
            let announcers = missing.removeValue(forKey: id) ?? []
            graftDeadline.removeValue(forKey: id)
            lazy.remove(from)
            eager.insert(from)
            // Optimisation: a lazy neighbour announced it over a clearly shorter path.
            if let best = announcers.min(by: { $0.round < $1.round }), best.peer != from,
               round - best.round >= config.optimizationThreshold, lazy.contains(best.peer) {
                lazy.remove(best.peer)
                eager.insert(best.peer)
                eager.remove(from)
                lazy.insert(from)
                actions.append(.send(to: best.peer, .graft(id: nil, round: best.round)))
                actions.append(.send(to: from, .prune))
            }
            return actions + push(id: id, payload: payload, round: round + 1, except: from)
        case .ihave(let announcements):
            for announcement in announcements.prefix(config.maxIHaveBatch) where !received.contains(announcement.id) {
                missing[announcement.id, default: []].append(Announcer(peer: from, round: announcement.round))
                if graftDeadline[announcement.id] == nil {
                    graftDeadline[announcement.id] = now + config.graftTimeout
                }
            }
            trimMissing()
            return []
        case .graft(let id, _):
            lazy.remove(from)
            eager.insert(from)
            if let id, let cached = cache[id] {
                return [.send(to: from, .gossip(id: id, payload: cached.payload, round: cached.round + 1))]
            }
            return []
        case .prune:
            if eager.remove(from) != nil { lazy.insert(from) }
            return []
        }
    }

    /// A new neighbour in the membership's active view: it starts eager.
    public mutating func neighborUp(_ peer: Peer) {
        lazy.remove(peer)
        eager.insert(peer)
    }

    /// A neighbour left the active view.
    public mutating func neighborDown(_ peer: Peer) {
        eager.remove(peer)
        lazy.remove(peer)
        lazyQueue.removeValue(forKey: peer)
        for (id, announcers) in missing {
            missing[id] = announcers.filter { $0.peer != peer }
        }
    }

    /// Periodic work: batched IHAVEs, GRAFT timers, cache expiry.
    public mutating func tick(now: Duration) -> [Action] {
        var actions: [Action] = []
        if now >= nextIHave {
            nextIHave = now + config.ihaveInterval
            for (peer, announcements) in lazyQueue where !announcements.isEmpty {
                var start = 0
                while start < announcements.count {
                    let batch = Array(announcements[start..<min(start + config.maxIHaveBatch, announcements.count)])
                    actions.append(.send(to: peer, .ihave(batch)))
                    start += config.maxIHaveBatch
                }
            }
            lazyQueue.removeAll(keepingCapacity: true)
        }
        for (id, deadline) in graftDeadline where deadline <= now {
            guard var announcers = missing[id], !announcers.isEmpty else {
                graftDeadline.removeValue(forKey: id)
                missing.removeValue(forKey: id)
                continue
            }
            let first = announcers.removeFirst()
            missing[id] = announcers
            graftDeadline[id] = announcers.isEmpty ? nil : now + config.graftRetry
            lazy.remove(first.peer)
            eager.insert(first.peer)
            actions.append(.send(to: first.peer, .graft(id: id, round: first.round)))
        }
        while arrivalsStart < arrivals.count, arrivals[arrivalsStart].expires <= now {
            forgetOldest()
        }
        return actions
    }

    private mutating func push(id: MessageID, payload: Payload, round: Int, except: Peer?) -> [Action] {
        var actions: [Action] = []
        for peer in eager where peer != except {
            actions.append(.send(to: peer, .gossip(id: id, payload: payload, round: round)))
        }
        for peer in lazy where peer != except {
            lazyQueue[peer, default: []].append(Announcement(id: id, round: round))
        }
        return actions
    }

    private mutating func remember(_ id: MessageID, payload: Payload, round: Int, now: Duration) {
        while received.count >= config.maxTrackedMessages, arrivalsStart < arrivals.count {
            forgetOldest()
        }
        received.insert(id)
        cache[id] = (payload, round)
        arrivals.append((id, now + config.cacheDuration))
    }

    private mutating func forgetOldest() {
        let oldest = arrivals[arrivalsStart].id
        arrivalsStart += 1
        received.remove(oldest)
        cache.removeValue(forKey: oldest)
        if arrivalsStart > 1024 && arrivalsStart * 2 > arrivals.count {
            arrivals.removeFirst(arrivalsStart)
            arrivalsStart = 0
        }
    }

    private mutating func trimMissing() {
        while missing.count > config.maxTrackedMessages, let any = missing.keys.first {
            missing.removeValue(forKey: any)
            graftDeadline.removeValue(forKey: any)
        }
    }
}
