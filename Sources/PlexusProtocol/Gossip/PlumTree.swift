/// PlumTree epidemic broadcast trees (Leitão, Pereira, Rodrigues, SRDS 2007) for one topic,
/// as a sans-IO state machine. Payloads are pushed eagerly along a spanning tree of the
/// neighbours; the other neighbours get batched IHAVE announcements and GRAFT a missing
/// message (repairing the tree) when it does not arrive in time. Duplicates PRUNE a link
/// to lazy. Every node forwards every message it receives, not only its own.
///
/// There is one tree per origin (the paper's per-source trees): which links are eager is
/// kept for each origin apart, and PRUNE and GRAFT name the origin they are about. With one
/// tree shared by every sender, a duplicate of one sender's message pruned a link that
/// another sender's messages needed; with many concurrent senders the shared tree was cut
/// faster than GRAFTs repaired it, and most messages arrived by repair. A new origin's
/// tree starts from every neighbour eager: its first message floods, and the duplicates
/// prune out of it the tree of first arrivals, the quickest paths from that origin.
/// (Starting from a tree shared by all origins instead measured fewer duplicates but
/// longer paths.) Trees of the least recently heard origins are forgotten beyond
/// `maxOrigins`.
public struct PlumTree<Peer: Hashable & Sendable, MessageID: Hashable & Sendable, Origin: Hashable & Sendable, Payload: Sendable>: Sendable {
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
        /// Bound on origins with a tree of their own; the least recently heard go first.
        public var maxOrigins = 4096

        public init() {}
    }

    public enum Message: Sendable {
        case gossip(id: MessageID, payload: Payload, round: Int, origin: Origin)
        case ihave([Announcement])
        /// Asks the receiver to push `origin`'s messages to the sender again; with an id, to
        /// send that message now (its origin is then the message's). No id and no origin:
        /// every origin's (what a node without per-origin trees sends).
        case graft(id: MessageID?, round: Int, origin: Origin?)
        /// Asks the receiver to only announce `origin`'s messages to the sender; nil: every
        /// origin's.
        case prune(origin: Origin?)
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

    /// Which neighbours one origin's messages are pushed to; the other neighbours are lazy.
    private struct Tree: Sendable {
        var eager: Set<Peer>
        var heard: Duration
    }

    public let config: Config
    /// The active-view neighbours.
    public private(set) var neighbors: Set<Peer> = []
    /// The eager neighbours a new origin's tree starts with: every neighbour except those
    /// that sent PRUNE for every origin.
    private var defaultEager: Set<Peer> = []
    private var trees: [Origin: Tree] = [:]
    private var cache: [MessageID: (payload: Payload, round: Int, origin: Origin)] = [:]
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

    /// The origin of a received (and still remembered) message; nil for one not received.
    /// A receiver can skip costly checks of a payload it already has: handling it is a
    /// duplicate.
    public func origin(ofReceived id: MessageID) -> Origin? {
        cache[id]?.origin
    }

    /// The neighbours `origin`'s messages are pushed to.
    public func eager(for origin: Origin) -> Set<Peer> {
        trees[origin]?.eager ?? defaultEager
    }

    /// The neighbours that only hear of `origin`'s messages by IHAVE.
    public func lazy(for origin: Origin) -> Set<Peer> {
        neighbors.subtracting(eager(for: origin))
    }

    /// Publishes a message from this node.
    public mutating func broadcast(id: MessageID, payload: Payload, origin: Origin, now: Duration) -> [Action] {
        guard cache[id] == nil else { return [] }
        remember(id, payload: payload, round: 0, origin: origin, now: now)
        return [.deliver(id: id, payload: payload, round: 0)] + push(id: id, payload: payload, round: 1, origin: origin, except: nil, now: now)
    }

    public mutating func handle(_ message: Message, from: Peer, now: Duration) -> [Action] {
        switch message {
        case .gossip(let id, let payload, let round, let origin):
            if let known = cache[id] {
                // A duplicate: this link is redundant for the origin's tree. The sender pushed
                // it, so it holds this node eager whatever this node holds it as: PRUNE
                // either way, or it would go on pushing duplicates.
                guard neighbors.contains(from) else { return [] }
                update(known.origin, now: now) { $0.remove(from) }
                return [.send(to: from, .prune(origin: known.origin))]
            }
            remember(id, payload: payload, round: round, origin: origin, now: now)
            var actions: [Action] = [.deliver(id: id, payload: payload, round: round)]
            let announcers = missing.removeValue(forKey: id) ?? []
            graftDeadline.removeValue(forKey: id)
            if neighbors.contains(from) { update(origin, now: now) { $0.insert(from) } }
            // Optimisation: a lazy neighbour announced it over a clearly shorter path.
            if let best = announcers.min(by: { $0.round < $1.round }), best.peer != from,
               round - best.round >= config.optimizationThreshold, neighbors.contains(best.peer),
               !eager(for: origin).contains(best.peer) {
                update(origin, now: now) {
                    $0.insert(best.peer)
                    $0.remove(from)
                }
                actions.append(.send(to: best.peer, .graft(id: nil, round: best.round, origin: origin)))
                actions.append(.send(to: from, .prune(origin: origin)))
            }
            return actions + push(id: id, payload: payload, round: round + 1, origin: origin, except: from, now: now)
        case .ihave(let announcements):
            for announcement in announcements.prefix(config.maxIHaveBatch) where cache[announcement.id] == nil {
                missing[announcement.id, default: []].append(Announcer(peer: from, round: announcement.round))
                if graftDeadline[announcement.id] == nil {
                    graftDeadline[announcement.id] = now + config.graftTimeout
                }
            }
            trimMissing()
            return []
        case .graft(let id, _, let origin):
            guard neighbors.contains(from) else { return [] }
            let cached = id.flatMap { cache[$0] }
            if let origin = cached?.origin ?? origin {
                update(origin, now: now) { $0.insert(from) }
            } else if id == nil {
                everyTree { $0.insert(from) }
            }
            if let id, let cached {
                return [.send(to: from, .gossip(id: id, payload: cached.payload, round: cached.round + 1, origin: cached.origin))]
            }
            return []
        case .prune(let origin):
            if let origin {
                if neighbors.contains(from) { update(origin, now: now) { $0.remove(from) } }
            } else {
                everyTree { $0.remove(from) }
            }
            return []
        }
    }

    /// A new neighbour in the membership's active view: it starts eager for every origin.
    public mutating func neighborUp(_ peer: Peer) {
        neighbors.insert(peer)
        everyTree { $0.insert(peer) }
    }

    /// A neighbour left the active view.
    public mutating func neighborDown(_ peer: Peer) {
        neighbors.remove(peer)
        everyTree { $0.remove(peer) }
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
            // The origin is not known until the message arrives: the answer, a first copy
            // from the announcer, makes the link eager in that origin's tree.
            actions.append(.send(to: first.peer, .graft(id: id, round: first.round, origin: nil)))
        }
        while arrivalsStart < arrivals.count, arrivals[arrivalsStart].expires <= now {
            forgetOldest()
        }
        return actions
    }

    private mutating func push(id: MessageID, payload: Payload, round: Int, origin: Origin, except: Peer?, now: Duration) -> [Action] {
        update(origin, now: now) { _ in }
        let eager = eager(for: origin)
        var actions: [Action] = []
        for peer in eager where peer != except {
            actions.append(.send(to: peer, .gossip(id: id, payload: payload, round: round, origin: origin)))
        }
        for peer in neighbors where peer != except && !eager.contains(peer) {
            lazyQueue[peer, default: []].append(Announcement(id: id, round: round))
        }
        return actions
    }

    /// Changes the eager set of every origin's tree, and of those not heard from yet.
    private mutating func everyTree(_ change: (inout Set<Peer>) -> Void) {
        change(&defaultEager)
        var index = trees.startIndex
        while index != trees.endIndex {
            change(&trees.values[index].eager)
            trees.formIndex(after: &index)
        }
    }

    /// Changes `origin`'s eager set (creating its tree from the default), marking it heard.
    private mutating func update(_ origin: Origin, now: Duration, _ change: (inout Set<Peer>) -> Void) {
        var tree = trees[origin] ?? Tree(eager: defaultEager, heard: now)
        change(&tree.eager)
        tree.heard = now
        trees[origin] = tree
        if trees.count > config.maxOrigins {
            // Forget the least recently heard eighth at once, so eviction stays rare.
            let stale = trees.sorted { $0.value.heard < $1.value.heard }.prefix(max(1, config.maxOrigins / 8))
            for (key, _) in stale where key != origin { trees.removeValue(forKey: key) }
        }
    }

    private mutating func remember(_ id: MessageID, payload: Payload, round: Int, origin: Origin, now: Duration) {
        while cache.count >= config.maxTrackedMessages, arrivalsStart < arrivals.count {
            forgetOldest()
        }
        cache[id] = (payload, round, origin)
        arrivals.append((id, now + config.cacheDuration))
    }

    private mutating func forgetOldest() {
        let oldest = arrivals[arrivalsStart].id
        arrivalsStart += 1
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
