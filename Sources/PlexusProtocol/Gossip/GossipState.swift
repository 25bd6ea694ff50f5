import Foundation
import PlexusCore

/// All of one node's gossip as one sans-IO state machine (DESIGN §2, §6): per topic a
/// HyParView overlay and a PlumTree broadcast, the exchange of topic lists with peers,
/// topic discovery (PROTOCOL.md §7), signed soft state (§9), the address book, strikes
/// against misbehaving peers and their IHAVE budgets, and when anti-entropy rounds are due.
/// `handle(_:now:)` takes an event and returns the actions to carry out; it reads no clock,
/// opens no socket and draws its randomness from a seed. The node's `GossipEngine` drives it
/// over the mesh; `GossipSimulator` drives thousands of them on a virtual network with the
/// same configuration, so what the simulation measures is what the node runs.
public struct GossipState: Sendable {
    public typealias Membership = HyParView<AgentID>
    public typealias Broadcast = PlumTree<AgentID, EntryID, AgentID, Data>

    /// The settings of a node's gossip. `Config(me:)` is what production runs.
    public struct Config: Sendable {
        public var me: AgentID
        /// Seeds the node's random choices (derived from its id by default).
        public var seed: UInt64
        public var limits = Limits.standard
        /// How often anti-entropy reconciles with each topic neighbour.
        public var syncInterval: Duration = .seconds(5)
        /// IHAVE ids a peer may announce per second, and at once.
        public var announceRate = 5_000.0
        public var announceBurst = 20_000.0
        /// How often a topic without neighbours is looked for, and how far a query walks.
        public var discoveryInterval: Duration = .seconds(2)
        public var queryWalkLength: UInt32 = 6
        /// Most members named in one answer to a topic query.
        public var maxMembersPerAnswer = 8
        /// Most topics a node is in, and most topics remembered per peer.
        public var maxTopics = 256
        /// Invalid messages a peer may send before it is disconnected.
        public var maxStrikes = 8
        /// Most remembered peer addresses; beyond it, those of peers in no view are dropped.
        public var maxAddresses = 4096
        /// Messages held for a peer while it is being dialled.
        public var maxQueuedWhileDialing = 64
        /// After this node sends a peer DISCONNECT in a topic, how long that peer's broadcast
        /// there draws no further DISCONNECT: pushes already in flight when it was dropped
        /// are expected, and a reply to each would be a burst of stale DISCONNECTs, one of
        /// which can arrive after the two became neighbours again and cut the new link.
        public var disconnectQuiet: Duration = .seconds(5)
        /// How long a `mesh` view may stay under-full with no passive peer before the node
        /// joins again through a known address (an island of a few nodes merges back). 3 s:
        /// with 10 s, a 5-node island formed while 1,000 simulated nodes joined was still
        /// apart when measuring began in 2 of 5 runs. (An island node that holds passive
        /// peers escalates its NEIGHBOR requests instead: `HyParView.repair`.)
        public var islandAfter: Duration = .seconds(3)
        /// Signed soft state held, records per message, and ids passed on unkept.
        public var maxRecords = 10_000
        public var maxRecordsPerMessage = 256
        public var maxRecordBytesPerMessage = 256 << 10
        public var maxPassedOn = 4096
        public var membership = Membership.Config()
        /// Announcements every 50 ms; a missing entry is grafted after 150 ms, long enough
        /// that a busy node does not graft what its tree link is still bringing. No hop-count
        /// optimisation (PROTOCOL.md §7).
        public var broadcast: Broadcast.Config = {
            var config = Broadcast.Config()
            config.ihaveInterval = .milliseconds(50)
            config.graftTimeout = .milliseconds(150)
            config.graftRetry = .milliseconds(20)
            config.optimizationThreshold = .max
            return config
        }()

        public init(me: AgentID) {
            self.me = me
            var seed: UInt64 = 0
            for byte in me.bytes.prefix(8) { seed = seed << 8 | UInt64(byte) }
            self.seed = seed
        }
    }

    /// The times a state machine is told: a monotonic clock for its timers and the wall
    /// clock (ms since the epoch) for what is signed with times (records, entries).
    public struct Now: Sendable {
        public var elapsed: Duration
        public var wallMs: Int64

        public init(elapsed: Duration, wallMs: Int64) {
            self.elapsed = elapsed
            self.wallMs = wallMs
        }
    }

    /// What the driver tells the state machine.
    public enum Event: Sendable {
        /// Time passed (the driver ticks every 25 ms).
        case tick
        /// A connection to a peer completed its handshake; `ip` is its remote address, and
        /// `bootstrap` says this node dialled it as a configured or remembered peer.
        case peerUp(AgentID, ip: String, bootstrap: Bool)
        case peerDown(AgentID)
        /// A gossip message arrived from a connected peer.
        case received(Plexus_Gossip, from: AgentID)
        /// Messages could not be sent: the peer is not connected.
        case unreachable(AgentID, [Plexus_Gossip])
        /// A dial asked for by `.dial` ended.
        case dialed(AgentID, ok: Bool)
        /// The driver found a peer misbehaving (e.g. in anti-entropy).
        case misbehaved(AgentID, String)
        /// An entry stored here (published or submitted) to spread in its topic.
        case spread(SignedEntry)
        /// Join or leave a topic (the driver has persisted the choice).
        case subscribe(String)
        case unsubscribe(String)
        /// The authors stored (empty: all).
        case setFollows(Set<AgentID>)
        /// Authors blocked here: their entries are not stored, asked for or passed on.
        case setBlocked(Set<AgentID>)
        /// This node's own soft-state record, to keep and spread.
        case publishRecord(SignedRecord)
        /// Where this node accepts connections (empty: it does not listen).
        case setAdvertised(String)
        /// Only these peers may take part in a topic's overlay (a private group's members,
        /// PROTOCOL.md §13.6); nil lifts the restriction.
        case restrict(String, members: Set<AgentID>?)
    }

    /// What the driver does for the state machine.
    public enum Action: Sendable {
        /// Send a message over the existing connection (report `.unreachable` if none).
        case send(AgentID, Plexus_Gossip)
        /// Dial a peer at its known address, then send the messages (report `.dialed`).
        case dial(AgentID, address: String, [Plexus_Gossip])
        /// A verified entry of a topic this node is in, from an author it stores: store it.
        case deliver(SignedEntry)
        /// Close the connection to a peer that misbehaved too often.
        case disconnect(AgentID)
        /// A peer misbehaved (for the log): what, and how many strikes it has.
        case strike(AgentID, String, count: Int)
        /// A peer became a neighbour in a topic (anti-entropy reconciles at once).
        case neighborUp(AgentID, topic: String)
        /// An anti-entropy round with a neighbour is due (this node opens it).
        case syncRound(AgentID, topic: String)
        /// An anti-entropy message (sync, wants, batch, credit) in a topic this node is in.
        case antiEntropy(Plexus_Gossip, from: AgentID)
        /// A peer's record of this kind is newly kept here (wakes what reads records, such
        /// as a group's welcomes, without polling).
        case keptRecord(SignedRecord.Kind)
    }

    /// A peer in one topic.
    struct TopicPeer: Hashable, Sendable {
        let topic: String
        let peer: AgentID
    }

    struct Topic: Sendable {
        var membership: Membership
        var broadcast: Broadcast
        /// When this node (re)joined the topic (wall clock ms).
        var joinedMs: Int64
    }

    public let config: Config
    /// Pushes of entries already received from a neighbour (for status).
    public private(set) var duplicatePushes = 0
    private var random: GossipRandom
    private var topics: [String: Topic] = [:]
    /// Where peers accept connections, as they told us.
    private var addresses: [AgentID: String] = [:]
    private var advertised = ""
    /// Peers being dialled, with the messages that came up for them meanwhile (sent once
    /// the dial succeeds; at most `maxQueuedWhileDialing`, the rest dropped like any lost
    /// gossip).
    private var dialing: [AgentID: [Plexus_Gossip]] = [:]
    /// The remote IP of each connected peer, to complete addresses advertised as 0.0.0.0.
    private var peerIPs: [AgentID: String] = [:]
    /// The topics each connected peer said it is in.
    private var peerTopics: [AgentID: Set<String>] = [:]
    private var follows: Set<AgentID> = []
    /// Authors blocked here: never stored, asked for or passed on.
    private var blocked: Set<AgentID> = []
    /// Topics only some peers may take part in, and those peers.
    private var restricted: [String: Set<AgentID>] = [:]
    private var strikes: [AgentID: Int] = [:]
    /// When this node last sent DISCONNECT to a peer in a topic (pruned after `disconnectQuiet`).
    private var disconnectSent: [TopicPeer: Duration] = [:]
    private var announceBudget: [AgentID: (tokens: Double, at: Duration)] = [:]
    private var records: SoftStateTable
    private var passedOn: Set<EntryID> = []
    private var nextSyncRound: Duration
    private var nextDiscovery: Duration = .zero
    private var nextRecordSweep: Duration = .zero
    private var nextRejoin: Duration = .zero
    /// Since when the `mesh` view has been under-full with no passive peer.
    private var strandedSince: Duration?

    public init(config: Config, now: Now) {
        self.config = config
        random = GossipRandom(seed: config.seed)
        records = SoftStateTable(capacity: config.maxRecords)
        nextSyncRound = now.elapsed + config.syncInterval
        topics[TopicName.mesh] = makeTopic(TopicName.mesh, now: now)
    }

    var me: AgentID { config.me }

    // MARK: - Reading

    /// The topics this node is in, with their overlay neighbours and reserve.
    public var topicList: [(name: String, neighbors: [AgentID], reserve: Int)] {
        topics.map { ($0.key, $0.value.membership.active, $0.value.membership.passive.count) }.sorted { $0.name < $1.name }
    }

    public func isIn(_ topic: String) -> Bool { topics[topic] != nil }
    public var topicCount: Int { topics.count }

    /// The topic's active neighbours (empty when not in it).
    public func neighbors(in topic: String) -> [AgentID] { topics[topic]?.membership.active ?? [] }

    /// When this node joined a topic (wall clock ms), nil when not in it.
    public func joinedMs(_ topic: String) -> Int64? { topics[topic]?.joinedMs }

    /// Whether `peer` may take part in `topic` here (PROTOCOL.md §13.6).
    public func admits(_ peer: AgentID, in topic: String) -> Bool {
        restricted[topic]?.contains(peer) ?? true
    }

    /// Whether this node stores entries of `author`.
    public func stores(_ author: AgentID) -> Bool {
        author == me || (!blocked.contains(author) && (follows.isEmpty || follows.contains(author)))
    }


    /// The unexpired records of a kind held here, newest first.
    public func records(of kind: SignedRecord.Kind, nowMs: Int64) -> [SignedRecord] {
        records.records(of: kind, nowMs: nowMs)
    }

    /// The current record of one author, if held.
    public func record(of author: AgentID, kind: SignedRecord.Kind, nowMs: Int64) -> SignedRecord? {
        records.record(SignedRecord.Slot(author: author, kind: kind), nowMs: nowMs)
    }

    // MARK: - Events

    public mutating func handle(_ event: Event, now: Now) -> [Action] {
        var actions: [Action] = []
        switch event {
        case .tick:
            tick(now: now, into: &actions)
        case .peerUp(let peer, let ip, let bootstrap):
            peerIPs[peer] = ip
            actions.append(.send(peer, subscriptionsMessage(for: peer)))
            // A node joins the mesh overlay through a peer while it has no neighbour, and
            // through each bootstrap peer it (re)connects to, unless already its neighbour:
            // a node that others joined through before its own bootstrap dial completed
            // would otherwise stay an island with them, and two halves of a network that
            // was partitioned would never merge again.
            if bootstrap, topics[TopicName.mesh]?.membership.active.contains(peer) == false,
               let result = topics[TopicName.mesh]?.membership.join(via: peer) {
                execute(result, topic: TopicName.mesh, now: now, into: &actions)
            } else {
                join(TopicName.mesh, via: peer, now: now, into: &actions)
            }
        case .peerDown(let peer):
            peerIPs.removeValue(forKey: peer)
            peerTopics.removeValue(forKey: peer)
            strikes.removeValue(forKey: peer)
            announceBudget.removeValue(forKey: peer)
            failed(peer, now: now, into: &actions)
        case .received(let gossip, let peer):
            receive(gossip, from: peer, now: now, into: &actions)
        case .unreachable(let peer, let messages):
            if var queued = dialing[peer] {
                // A dial is under way: these go out when it succeeds.
                queued.append(contentsOf: messages.prefix(config.maxQueuedWhileDialing - queued.count))
                dialing[peer] = queued
            } else if let address = addresses[peer] {
                dialing[peer] = []
                actions.append(.dial(peer, address: address, messages))
            } else {
                failed(peer, now: now, into: &actions)
            }
        case .dialed(let peer, let ok):
            let queued = dialing.removeValue(forKey: peer) ?? []
            if ok {
                for message in queued { actions.append(.send(peer, message)) }
            } else {
                // Its address does not answer now; it is learned again if the peer returns.
                addresses.removeValue(forKey: peer)
                failed(peer, now: now, into: &actions)
            }
        case .misbehaved(let peer, let what):
            misbehaved(peer, what, into: &actions)
        case .spread(let entry):
            let topic = TopicName.replication(of: entry.topic)
            if let broadcast = topics[topic]?.broadcast.broadcast(id: entry.id, payload: entry.encoded(), origin: entry.author, now: now.elapsed) {
                execute(broadcast, topic: topic, verified: nil, into: &actions)  // already stored: its delivery is a no-op
            }
        case .subscribe(let name):
            guard topics[name] == nil, topics.count < config.maxTopics else { break }
            topics[name] = makeTopic(name, now: now)
            announceTopics(into: &actions)
            for (peer, theirs) in peerTopics where theirs.contains(name) {
                join(name, via: peer, now: now, into: &actions)
            }
        case .unsubscribe(let name):
            guard name != TopicName.mesh, let topic = topics.removeValue(forKey: name) else { break }
            for peer in topic.membership.active {
                disconnectSent[TopicPeer(topic: name, peer: peer)] = now.elapsed
                actions.append(.send(peer, membershipMessage(.disconnect, topic: name)))
            }
            announceTopics(into: &actions)
        case .setFollows(let authors):
            follows = authors
        case .setBlocked(let authors):
            blocked = authors
        case .publishRecord(let record):
            _ = records.insert(record, nowMs: now.wallMs)
            spreadRecords([record], except: nil, into: &actions)
        case .setAdvertised(let address):
            advertised = address
        case .restrict(let name, let members):
            restrict(name, to: members, now: now, into: &actions)
        }
        return holdWhileDialing(actions)
    }

    /// Messages for a peer being dialled wait for the dial: sent over a connection that came
    /// up meanwhile, they would overtake the dial's own messages (a DISCONNECT arriving
    /// before the NEIGHBOR it revokes leaves the two views disagreeing).
    private mutating func holdWhileDialing(_ actions: [Action]) -> [Action] {
        guard !dialing.isEmpty else { return actions }
        return actions.filter { action in
            guard case .send(let peer, let message) = action, var queued = dialing[peer] else { return true }
            if queued.count < config.maxQueuedWhileDialing { queued.append(message) }
            dialing[peer] = queued
            return false
        }
    }

    private mutating func tick(now: Now, into actions: inout [Action]) {
        for name in topics.keys.sorted() {
            let membership = topics[name]?.membership.tick(now: now.elapsed) ?? []
            let broadcast = topics[name]?.broadcast.tick(now: now.elapsed) ?? []
            execute(membership, topic: name, now: now, into: &actions)
            execute(broadcast, topic: name, verified: nil, into: &actions)
        }
        discoveryTick(now: now, into: &actions)
        rejoinIfIsolated(now: now, into: &actions)
        if now.elapsed >= nextSyncRound {
            nextSyncRound = now.elapsed + config.syncInterval
            for name in topics.keys.sorted() {
                for peer in topics[name]?.membership.active ?? [] where me < peer {
                    actions.append(.syncRound(peer, topic: name))
                }
            }
        }
        if now.elapsed >= nextRecordSweep {
            nextRecordSweep = now.elapsed + .seconds(5)
            records.expire(nowMs: now.wallMs)
            disconnectSent = disconnectSent.filter { now.elapsed - $0.value < config.disconnectQuiet }
        }
    }

    private mutating func receive(_ gossip: Plexus_Gossip, from peer: AgentID, now: Now, into actions: inout [Action]) {
        guard let kind = gossip.kind else { return }
        let name = gossip.topic
        // Messages that are not traffic of one topic's overlay.
        switch kind {
        case .subscriptions(let list):
            learnTopics(list.topics, of: peer, now: now, into: &actions)
            return
        case .topicQuery(let query):
            receiveTopicQuery(query, topic: name, from: peer, into: &actions)
            return
        case .topicMembers(let list):
            receiveTopicMembers(list, topic: name, now: now, into: &actions)
            return
        case .records(let list):
            receiveRecords(list, from: peer, now: now, into: &actions)
            return
        default:
            break
        }
        // A private topic's traffic from a peer that is not a member is ignored, without a
        // strike: it may have been removed a moment ago (PROTOCOL.md §13.6).
        guard admits(peer, in: name) else { return }
        guard let isNeighbor = topics[name]?.membership.active.contains(peer) else {
            // Not in this topic: a peer that takes this node for its neighbour here is told
            // to drop the link, rather than pushing into nothing.
            notNeighbor(kind, from: peer, topic: name, now: now, into: &actions)
            return
        }
        switch kind {
        case .join(let ref):
            remember(ref, sender: peer)
            membership(.join, from: peer, topic: name, now: now, into: &actions)
        case .forwardJoin(let forward):
            guard let joiner = remember(forward.peer) else { return }
            membership(.forwardJoin(peer: joiner, ttl: Int(forward.ttl)), from: peer, topic: name, now: now, into: &actions)
        case .neighbor(let high):
            membership(.neighbor(highPriority: high), from: peer, topic: name, now: now, into: &actions)
        case .neighborReply(let accepted):
            membership(.neighborReply(accepted: accepted), from: peer, topic: name, now: now, into: &actions)
        case .disconnect:
            membership(.disconnect, from: peer, topic: name, now: now, into: &actions)
        case .shuffle(let shuffle):
            guard let origin = remember(shuffle.origin) else { return }
            let peers = shuffle.peers.prefix(32).compactMap { remember($0) }
            membership(.shuffle(origin: origin, ttl: Int(shuffle.ttl), peers: peers), from: peer, topic: name, now: now, into: &actions)
        case .shuffleReply(let list):
            let peers = list.peers.prefix(32).compactMap { remember($0) }
            membership(.shuffleReply(peers: peers), from: peer, topic: name, now: now, into: &actions)
        case .push(let push):
            // Broadcast traffic only from neighbours, and only verified entries go further.
            guard isNeighbor else { return notNeighbor(kind, from: peer, topic: name, now: now, into: &actions) }
            // A copy of an entry already received is a duplicate whatever its signature
            // says: PlumTree only prunes the link, so it is not verified again.
            if let id = SignedEntry.id(ofEncoded: push.entry), let origin = topics[name]?.broadcast.origin(ofReceived: id) {
                duplicatePushes += 1
                broadcast(.gossip(id: id, payload: push.entry, round: Int(push.round), origin: origin), from: peer, topic: name, now: now, into: &actions)
                return
            }
            guard let entry = try? SignedEntry(encoded: push.entry, limits: config.limits),
                  TopicName.replication(of: entry.topic) == name
            else {
                misbehaved(peer, "pushed an invalid entry or one of another topic", into: &actions)
                return
            }
            broadcast(
                .gossip(id: entry.id, payload: push.entry, round: Int(push.round), origin: entry.author), from: peer, topic: name, now: now,
                verified: entry, into: &actions)
        case .ihave(let ihave):
            guard isNeighbor else { return notNeighbor(kind, from: peer, topic: name, now: now, into: &actions) }
            let allowed = spendAnnounceBudget(of: peer, count: ihave.items.count, now: now.elapsed)
            if allowed < ihave.items.count {
                misbehaved(peer, "announced more entries than its IHAVE budget", into: &actions)
            }
            let items = ihave.items.prefix(min(allowed, 256)).compactMap { item in
                EntryID(bytes: item.id).map { Broadcast.Announcement(id: $0, round: Int(item.round)) }
            }
            guard !items.isEmpty else { return }
            broadcast(.ihave(items), from: peer, topic: name, now: now, into: &actions)
        case .graft(let graft):
            guard isNeighbor else { return notNeighbor(kind, from: peer, topic: name, now: now, into: &actions) }
            guard let origin = treeOrigin(of: gossip) else { return }
            broadcast(.graft(id: EntryID(bytes: graft.id), round: Int(graft.round), origin: origin), from: peer, topic: name, now: now, into: &actions)
        case .prune:
            guard let origin = treeOrigin(of: gossip) else { return }
            broadcast(.prune(origin: origin), from: peer, topic: name, now: now, into: &actions)
        case .sync, .wants, .batch, .credit:
            actions.append(.antiEntropy(gossip, from: peer))
        case .subscriptions, .topicQuery, .topicMembers, .records:
            break  // handled above
        }
    }

    /// The broadcast tree a GRAFT or PRUNE is about: `.some(nil)` for every author's (no
    /// origin given), nil when the origin is not an agent id (the message is ignored).
    private func treeOrigin(of gossip: Plexus_Gossip) -> AgentID?? {
        if gossip.origin.isEmpty { return .some(nil) }
        return AgentID(bytes: gossip.origin).map { .some($0) }
    }

    /// JOIN, NEIGHBOR or broadcast from a peer that is not this node's neighbour in `topic`
    /// (or in a topic this node is not in): DISCONNECT, or a refused NEIGHBOR, so its view
    /// matches ours (PROTOCOL.md §7). DISCONNECT goes at most once per `disconnectQuiet` to a
    /// peer in a topic. Other kinds are ignored.
    private mutating func notNeighbor(_ kind: Plexus_Gossip.OneOf_Kind, from peer: AgentID, topic: String, now: Now, into actions: inout [Action]) {
        guard topic.utf8.count <= TopicName.maxBytes else { return }
        switch kind {
        case .join, .push, .ihave, .graft:
            let key = TopicPeer(topic: topic, peer: peer)
            if let sent = disconnectSent[key], now.elapsed - sent < config.disconnectQuiet { return }
            if disconnectSent.count >= config.maxAddresses { disconnectSent.removeAll(keepingCapacity: true) }
            disconnectSent[key] = now.elapsed
            actions.append(.send(peer, membershipMessage(.disconnect, topic: topic)))
        case .neighbor:
            actions.append(.send(peer, membershipMessage(.neighborReply(accepted: false), topic: topic)))
        default:
            break
        }
    }

    // MARK: - Membership and broadcast

    private mutating func broadcast(
        _ message: Broadcast.Message, from peer: AgentID, topic: String, now: Now, verified: SignedEntry? = nil,
        into actions: inout [Action]
    ) {
        guard let result = topics[topic]?.broadcast.handle(message, from: peer, now: now.elapsed) else { return }
        execute(result, topic: topic, verified: verified, into: &actions)
    }

    private mutating func membership(
        _ message: Membership.Message, from peer: AgentID, topic: String, now: Now, into actions: inout [Action]
    ) {
        guard let result = topics[topic]?.membership.handle(message, from: peer, now: now.elapsed) else { return }
        execute(result, topic: topic, now: now, into: &actions)
    }

    /// Joins a topic's overlay through a connected peer while this node has no neighbour in
    /// it. Once in, the overlay fills and repairs its views itself; joining through every
    /// new connection would set off a cascade of forward-joins and evictions each time.
    private mutating func join(_ name: String, via peer: AgentID, now: Now, into actions: inout [Action]) {
        guard admits(peer, in: name), topics[name]?.membership.active.isEmpty == true, let result = topics[name]?.membership.join(via: peer) else { return }
        execute(result, topic: name, now: now, into: &actions)
    }

    private mutating func failed(_ peer: AgentID, now: Now, into actions: inout [Action]) {
        for name in topics.keys.sorted() {
            guard let result = topics[name]?.membership.peerFailed(peer, now: now.elapsed) else { continue }
            execute(result, topic: name, now: now, into: &actions)
        }
    }

    private mutating func execute(_ membership: [Membership.Action], topic: String, now: Now, into actions: inout [Action]) {
        for action in membership {
            switch action {
            case .send(let peer, let message):
                guard admits(peer, in: topic) else { continue }
                if case .disconnect = message { disconnectSent[TopicPeer(topic: topic, peer: peer)] = now.elapsed }
                actions.append(.send(peer, membershipMessage(message, topic: topic)))
            case .neighborUp(let peer):
                topics[topic]?.broadcast.neighborUp(peer)
                if topic == TopicName.mesh { sendRecords(records.all(nowMs: now.wallMs), to: peer, into: &actions) }
                actions.append(.neighborUp(peer, topic: topic))
            case .neighborDown(let peer):
                topics[topic]?.broadcast.neighborDown(peer)
            }
        }
    }

    /// `verified` is the entry of the push being handled: the only thing a `deliver` can be.
    private func execute(_ broadcast: [Broadcast.Action], topic: String, verified: SignedEntry?, into actions: inout [Action]) {
        for action in broadcast {
            switch action {
            case .send(let peer, let message):
                guard admits(peer, in: topic) else { continue }
                var gossip = Plexus_Gossip()
                gossip.topic = topic
                switch message {
                case .gossip(_, let payload, let round, _):
                    gossip.push = .with { $0.entry = payload; $0.round = UInt32(clamping: round) }
                case .ihave(let items):
                    gossip.ihave = .with { list in
                        list.items = items.map { item in .with { $0.id = item.id.bytes.asData; $0.round = UInt32(clamping: item.round) } }
                    }
                case .graft(let id, let round, let origin):
                    gossip.graft = .with { $0.id = id?.bytes.asData ?? Data(); $0.round = UInt32(clamping: round) }
                    gossip.origin = origin?.bytes.asData ?? Data()
                case .prune(let origin):
                    gossip.prune = true
                    gossip.origin = origin?.bytes.asData ?? Data()
                }
                actions.append(.send(peer, gossip))
            case .deliver(let id, _, _):
                // Verified before it reached the broadcast; follows decide whether it is
                // stored. It is forwarded either way.
                guard let verified, verified.id == id, stores(verified.author) else { continue }
                actions.append(.deliver(verified))
            }
        }
    }

    private func membershipMessage(_ message: Membership.Message, topic: String) -> Plexus_Gossip {
        var gossip = Plexus_Gossip()
        gossip.topic = topic
        switch message {
        case .join: gossip.join = ref(me)
        case .forwardJoin(let peer, let ttl): gossip.forwardJoin = .with { $0.peer = ref(peer); $0.ttl = UInt32(max(ttl, 0)) }
        case .neighbor(let high): gossip.neighbor = high
        case .neighborReply(let accepted): gossip.neighborReply = accepted
        case .disconnect: gossip.disconnect = true
        case .shuffle(let origin, let ttl, let peers):
            gossip.shuffle = .with { $0.origin = ref(origin); $0.ttl = UInt32(max(ttl, 0)); $0.peers = peers.map(ref) }
        case .shuffleReply(let peers): gossip.shuffleReply = .with { $0.peers = peers.map(ref) }
        }
        return gossip
    }

    /// A node whose `mesh` views are both empty (its neighbours and every peer it knew of
    /// crashed) joins again through a peer whose address it knows, once a second, instead
    /// of waiting for its bootstrap peers alone. A node whose view stays under-full with no
    /// passive peer to repair it from for `islandAfter` does the same: a few nodes that
    /// lost every link outside their group (their shuffles then only name each other)
    /// would otherwise stay an island for good.
    private mutating func rejoinIfIsolated(now: Now, into actions: inout [Action]) {
        guard let mesh = topics[TopicName.mesh]?.membership else { return }
        let stranded = mesh.passive.isEmpty && mesh.active.count < config.membership.activeCapacity
        guard stranded else {
            strandedSince = nil
            return
        }
        let since = strandedSince ?? now.elapsed
        strandedSince = since
        guard mesh.active.isEmpty || now.elapsed - since >= config.islandAfter else { return }
        guard now.elapsed >= nextRejoin, dialing.isEmpty else { return }
        nextRejoin = now.elapsed + config.membership.repairInterval
        strandedSince = now.elapsed
        let neighbors = Set(mesh.active)
        guard let peer = addresses.keys.filter({ !neighbors.contains($0) }).sorted().randomElement(using: &random),
              let result = topics[TopicName.mesh]?.membership.join(via: peer)
        else { return }
        execute(result, topic: TopicName.mesh, now: now, into: &actions)
    }

    // MARK: - Topic lists

    private mutating func learnTopics(_ names: [String], of peer: AgentID, now: Now, into actions: inout [Action]) {
        let theirs = Set(names.prefix(config.maxTopics).filter { $0.utf8.count <= TopicName.maxBytes })
        let new = theirs.subtracting(peerTopics[peer] ?? [])
        peerTopics[peer] = theirs
        for name in new.sorted() where name != TopicName.mesh && topics[name] != nil {
            join(name, via: peer, now: now, into: &actions)
        }
    }

    /// Tells every connected peer which topics this node is in (private topics only to
    /// their members).
    private func announceTopics(into actions: inout [Action]) {
        for peer in peerIPs.keys.sorted() { actions.append(.send(peer, subscriptionsMessage(for: peer))) }
    }

    private func subscriptionsMessage(for peer: AgentID) -> Plexus_Gossip {
        .with { $0.subscriptions = .with { $0.topics = topics.keys.filter { admits(peer, in: $0) }.sorted() } }
    }

    /// Restricts a topic to `members` (nil: lifts it): neighbours and passive peers that
    /// are not members are dropped from its views, told so, and no longer told of it.
    private mutating func restrict(_ name: String, to members: Set<AgentID>?, now: Now, into actions: inout [Action]) {
        guard restricted[name] != members else { return }
        restricted[name] = members
        if let members, let topic = topics[name] {
            let outsiders = Set(topic.membership.active + topic.membership.passive).subtracting(members)
            for peer in outsiders.sorted() {
                if topic.membership.active.contains(peer) {
                    disconnectSent[TopicPeer(topic: name, peer: peer)] = now.elapsed
                    actions.append(.send(peer, membershipMessage(.disconnect, topic: name)))
                }
                guard let result = topics[name]?.membership.peerFailed(peer, now: now.elapsed) else { continue }
                execute(result, topic: name, now: now, into: &actions)
            }
        }
        announceTopics(into: &actions)
        if topics[name]?.membership.active.isEmpty == true {
            for (peer, theirs) in peerTopics.sorted(by: { $0.key < $1.key }) where theirs.contains(name) {
                join(name, via: peer, now: now, into: &actions)
            }
        }
    }

    // MARK: - Topic discovery (PROTOCOL.md §7)

    /// Sends a query for every topic this node is in without a neighbour, at most every
    /// `discoveryInterval`, to a few of its mesh neighbours; a connected peer known to be
    /// in the topic is joined through directly.
    private mutating func discoveryTick(now: Now, into actions: inout [Action]) {
        guard now.elapsed >= nextDiscovery else { return }
        nextDiscovery = now.elapsed + config.discoveryInterval
        let lonely = topics.filter { $0.key != TopicName.mesh && $0.value.membership.active.isEmpty }.map(\.key).sorted()
        guard !lonely.isEmpty, let mesh = topics[TopicName.mesh]?.membership.active, !mesh.isEmpty else { return }
        for name in lonely {
            if let member = peerTopics.keys.sorted().first(where: { peerTopics[$0]?.contains(name) == true }) {
                join(name, via: member, now: now, into: &actions)
                continue
            }
            for peer in mesh.shuffled(using: &random).prefix(3) {
                var query = Plexus_Gossip()
                query.topic = name
                query.topicQuery = .with { $0.origin = ref(me); $0.ttl = config.queryWalkLength }
                actions.append(.send(peer, query))
            }
        }
    }

    private mutating func receiveTopicQuery(_ query: Plexus_TopicQuery, topic name: String, from peer: AgentID, into actions: inout [Action]) {
        guard name.utf8.count <= TopicName.maxBytes, name != TopicName.mesh,
              let origin = remember(query.origin), origin != me, !query.origin.address.isEmpty
        else { return }
        // Who is in a private topic is told only to its members.
        guard admits(origin, in: name) else { return }
        let members = knownMembers(of: name, excluding: origin)
        if !members.isEmpty {
            var answer = Plexus_Gossip()
            answer.topic = name
            answer.topicMembers = .with { $0.peers = members.map { ref($0) } }
            actions.append(.send(origin, answer))
            return
        }
        guard query.ttl > 1,
              let next = topics[TopicName.mesh]?.membership.active.filter({ $0 != peer && $0 != origin }).randomElement(using: &random)
        else { return }
        var forwarded = Plexus_Gossip()
        forwarded.topic = name
        forwarded.topicQuery = query
        forwarded.topicQuery.ttl = min(query.ttl, config.queryWalkLength) - 1
        actions.append(.send(next, forwarded))
    }

    private mutating func receiveTopicMembers(_ list: Plexus_PeerList, topic name: String, now: Now, into actions: inout [Action]) {
        guard topics[name]?.membership.active.isEmpty == true else { return }
        for member in list.peers.prefix(config.maxMembersPerAnswer).compactMap({ remember($0) }) where member != me && admits(member, in: name) {
            // Joining sends JOIN to the member, dialling it at the address just learned.
            join(name, via: member, now: now, into: &actions)
            if topics[name]?.membership.active.isEmpty == false { return }
        }
    }

    /// Members of a topic this node can name with an address: itself, and connected peers
    /// that said they are in it.
    private func knownMembers(of name: String, excluding origin: AgentID) -> [AgentID] {
        var members: [AgentID] = []
        if topics[name] != nil && !advertised.isEmpty { members.append(me) }
        for peer in peerTopics.keys.sorted() where peerTopics[peer]?.contains(name) == true && peer != origin && addresses[peer] != nil {
            members.append(peer)
            if members.count >= config.maxMembersPerAnswer { break }
        }
        return members
    }

    // MARK: - Soft state (PROTOCOL.md §9)

    private mutating func receiveRecords(_ list: Plexus_SoftRecordList, from peer: AgentID, now: Now, into actions: inout [Action]) {
        guard list.records.count <= config.maxRecordsPerMessage else {
            misbehaved(peer, "sent more than \(config.maxRecordsPerMessage) records at once", into: &actions)
            return
        }
        var fresh: [SignedRecord] = []
        var invalid = 0
        for wire in list.records {
            // A copy of a record held (or passed on) already: known without verifying it.
            let id = EntryID(hashing: wire.body)
            if records.holds(id) || passedOn.contains(id) { continue }
            guard let record = try? SignedRecord(wire: wire) else {
                invalid += 1
                continue
            }
            // Signed too far in this node's future: dropped, but not held against the peer
            // that passed it on (the author's clock, or ours, is off).
            guard record.timeMs <= now.wallMs + SignedRecord.maxClockSkewMs else { continue }
            if stores(record.author) {
                if records.insert(record, nowMs: now.wallMs).isNew {
                    fresh.append(record)
                    actions.append(.keptRecord(record.kind))
                }
            } else if record.expiresMs > now.wallMs, !passedOn.contains(record.id) {
                if passedOn.count >= config.maxPassedOn { passedOn.removeAll(keepingCapacity: true) }
                passedOn.insert(record.id)
                fresh.append(record)
            }
        }
        if invalid > 0 { misbehaved(peer, "sent \(invalid) invalid records", into: &actions) }
        spreadRecords(fresh, except: peer, into: &actions)
    }

    /// Sends records to every mesh neighbour but `sender`.
    private func spreadRecords(_ list: [SignedRecord], except sender: AgentID?, into actions: inout [Action]) {
        guard !list.isEmpty else { return }
        for peer in topics[TopicName.mesh]?.membership.active ?? [] where peer != sender {
            sendRecords(list, to: peer, into: &actions)
        }
    }

    /// Sends records in messages of at most `maxRecordsPerMessage` records and
    /// `maxRecordBytesPerMessage` bytes, so no message nears the frame limit.
    private func sendRecords(_ list: [SignedRecord], to peer: AgentID, into actions: inout [Action]) {
        var page: [Plexus_SoftRecord] = []
        var bytes = 0
        func emit() {
            guard !page.isEmpty else { return }
            var message = Plexus_Gossip()
            message.topic = TopicName.mesh
            message.records = .with { $0.records = page }
            actions.append(.send(peer, message))
            page.removeAll()
            bytes = 0
        }
        for record in list {
            let size = record.body.count + record.signature.count + 8
            if page.count >= config.maxRecordsPerMessage || bytes + size > config.maxRecordBytesPerMessage { emit() }
            page.append(record.wire)
            bytes += size
        }
        emit()
    }

    // MARK: - Peers

    /// Counts an invalid message against a peer; at `maxStrikes` the peer is dropped.
    private mutating func misbehaved(_ peer: AgentID, _ what: String, into actions: inout [Action]) {
        let count = (strikes[peer] ?? 0) + 1
        strikes[peer] = count
        actions.append(.strike(peer, what, count: count))
        if count >= config.maxStrikes {
            strikes.removeValue(forKey: peer)
            actions.append(.disconnect(peer))
        }
    }

    /// IHAVE announcements a peer may make (`announceRate` per second, `announceBurst` at
    /// once). Each unknown id costs a timer and a GRAFT, so a flood is cut off here.
    private mutating func spendAnnounceBudget(of peer: AgentID, count: Int, now: Duration) -> Int {
        var budget = announceBudget[peer] ?? (config.announceBurst, now)
        budget.tokens = min(config.announceBurst, budget.tokens + config.announceRate * ((now - budget.at) / .seconds(1)))
        budget.at = now
        let allowed = min(count, Int(budget.tokens))
        budget.tokens -= Double(allowed)
        announceBudget[peer] = budget
        return allowed
    }

    private func ref(_ peer: AgentID) -> Plexus_PeerRef {
        .with { $0.agent = peer.bytes.asData; $0.address = peer == me ? advertised : (addresses[peer] ?? "") }
    }

    /// Records where a peer accepts connections. A peer listening on every interface
    /// (0.0.0.0 or ::) is reached at the IP its own connection came from.
    @discardableResult
    private mutating func remember(_ ref: Plexus_PeerRef, sender: AgentID? = nil) -> AgentID? {
        guard let agent = AgentID(bytes: ref.agent) else { return nil }
        guard agent != me, !ref.address.isEmpty, ref.address.utf8.count <= 300,
              var target = try? HostPort.parse(ref.address, defaultHost: "127.0.0.1")
        else { return agent }
        if target.host == "0.0.0.0" || target.host == "::" {
            guard agent == sender, let ip = peerIPs[agent] else { return agent }
            target.host = ip
        }
        addresses[agent] = target.description
        if addresses.count > config.maxAddresses {
            var inUse: Set<AgentID> = []
            for topic in topics.values {
                inUse.formUnion(topic.membership.active)
                inUse.formUnion(topic.membership.passive)
            }
            addresses = addresses.filter { inUse.contains($0.key) }
        }
        return agent
    }

    /// Each topic's overlay draws its own random choices, deterministically per node.
    private func makeTopic(_ name: String, now: Now) -> Topic {
        var topicSeed = config.seed
        for byte in name.utf8 { topicSeed = (topicSeed ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Topic(
            membership: Membership(me: me, config: config.membership, seed: topicSeed, now: now.elapsed),
            broadcast: Broadcast(config: config.broadcast), joinedMs: now.wallMs)
    }
}
