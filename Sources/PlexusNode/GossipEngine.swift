import Foundation
import Logging
import PlexusCore
import PlexusNet
import PlexusProtocol
import PlexusStore

/// Drives the gossip state machines of the node's topics over the mesh: HyParView keeps
/// each topic's overlay, PlumTree spreads entries along it, anti-entropy (AntiEntropy.swift)
/// repairs what broadcast missed, and every entry received is verified before it is stored
/// or forwarded. This is the IO half of PlexusProtocol/Gossip.
///
/// Every node is in `mesh`; other topics are joined on subscribe. Peers tell each other
/// their topics when they connect; a topic's overlay is joined through a connected peer in
/// it, or through members found by a query walking the mesh (TopicDiscovery.swift).
/// Follows restrict what is stored, never what is forwarded.
actor GossipEngine {
    struct Topic {
        var membership: HyParView<AgentID>
        var broadcast: PlumTree<AgentID, EntryID, Data>
        /// When this node (re)joined the topic (wall clock ms): entries anti-entropy brings
        /// that were signed before are history, later ones repair lost pushes.
        var joinedMs: Int64
    }

    /// Most topics a node is in, and most topics remembered per peer.
    static let maxTopics = 256
    /// Invalid messages a peer may send before it is disconnected.
    static let maxStrikes = 8

    let me: AgentID
    let mesh: ConnectionManager
    /// The gossip channel's frames and peer events, in order.
    private let inbound: AsyncStream<MeshEvent>
    let store: EntryStore
    let limits: Limits
    let logger: Logger
    let syncInterval: Duration
    /// IHAVE ids a peer may announce per second, and at once.
    let announceRate: Double
    let announceBurst: Double
    let wallClock: @Sendable () -> Int64
    private let seed: UInt64
    private let started = ContinuousClock.now
    var topics: [String: Topic] = [:]
    /// Where peers accept connections, as they told us.
    var addresses: [AgentID: String] = [:]
    private(set) var advertised = ""
    private var dialing: Set<AgentID> = []
    /// The remote IP of each connected peer, to complete addresses advertised as 0.0.0.0.
    var peerIPs: [AgentID: String] = [:]
    /// The topics each connected peer said it is in.
    var peerTopics: [AgentID: Set<String>] = [:]
    /// Authors stored; empty: every author.
    private var follows: Set<AgentID> = []
    private var strikes: [AgentID: Int] = [:]
    /// Per peer, how many IHAVE announcements it may still send (refilled over time).
    private var announceBudget: [AgentID: (tokens: Double, at: Duration)] = [:]
    /// Gossip frames not sent because the peer's queue was full.
    private(set) var dropped = 0
    /// Gossip messages received, by kind (for status).
    private(set) var received: [String: Int] = [:]
    /// Gossip messages handed to the transport, by kind.
    private(set) var sent: [String: Int] = [:]
    /// Entries delivered since the last tick, stored together at the next one.
    private var toStore: [SignedEntry] = []
    /// Anti-entropy state per neighbour and topic.
    var sessions: [SyncKey: SyncSession] = [:]
    /// Signed soft state held (agent records), and ids of those passed on unkept.
    var records = SoftStateTable()
    var passedOn: Set<EntryID> = []
    private var nextRecordSweep: Duration = .zero
    var nextSyncRound: Duration = .zero
    var nextDiscovery: Duration = .zero

    init(
        me: AgentKey, mesh: ConnectionManager, inbound: AsyncStream<MeshEvent>, store: EntryStore, limits: Limits, syncInterval: Duration,
        announceRate: Double = 5_000, announceBurst: Double = 20_000, logger: Logger, wallClock: @escaping @Sendable () -> Int64
    ) {
        self.announceRate = announceRate
        self.announceBurst = announceBurst
        self.me = me.id
        self.mesh = mesh
        self.inbound = inbound
        self.store = store
        self.limits = limits
        self.syncInterval = syncInterval
        self.logger = logger
        self.wallClock = wallClock
        var seed: UInt64 = 0
        for byte in me.id.bytes.prefix(8) { seed = seed << 8 | UInt64(byte) }
        self.seed = seed
        topics[TopicName.mesh] = Self.makeTopic(TopicName.mesh, me: me.id, seed: seed, now: .zero, wallMs: wallClock())
    }

    var now: Duration { ContinuousClock.now - started }

    /// Runs until cancelled: loads subscriptions and follows, then consumes mesh events and
    /// ticks the state machines.
    func run(advertising address: String?) async {
        advertised = address ?? ""
        do {
            for name in try await store.interests.topics() where topics.count < Self.maxTopics {
                topics[name] = makeTopic(name)
            }
            follows = Set(try await store.interests.follows())
        } catch {
            logger.error("cannot load subscriptions and follows", metadata: ["error": "\(error)"])
        }
        nextSyncRound = now + syncInterval
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in self.inbound { await self.handle(event) }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(25))
                    await self.tick()
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    // MARK: - Local operations

    /// Spreads an entry this node just stored into its topic. Publishing into a topic
    /// joins it, so that the entry reaches the topic's other members.
    func publish(_ entry: SignedEntry) async {
        let topic = TopicName.replication(of: entry.topic)
        if topics[topic] == nil {
            _ = try? await subscribe(topic)
        }
        await spread(entry)
    }

    /// Spreads an entry stored here (published, or submitted from elsewhere) to the
    /// neighbours of its topic, when this node is in the topic.
    func spread(_ entry: SignedEntry) async {
        let topic = TopicName.replication(of: entry.topic)
        let time = now
        // Mutated in place through the dictionary: copying a topic out would copy its caches.
        guard let actions = topics[topic]?.broadcast.broadcast(id: entry.id, payload: entry.encoded(), now: time) else { return }
        await execute(actions, topic: topic, verified: nil)  // already stored: its delivery is a no-op
    }

    /// Joins a topic (remembered across restarts). Returns false when already in it.
    func subscribe(_ name: String) async throws(PlexusError) -> Bool {
        let name = try TopicName.validated(name)
        if name == TopicName.mesh { return false }
        guard topics[name] == nil else { return false }
        guard topics.count < Self.maxTopics else {
            throw PlexusError(.invalidArgument, "a node is in at most \(Self.maxTopics) topics")
        }
        try await store.interests.subscribe(name)
        guard topics[name] == nil else { return false }
        topics[name] = makeTopic(name)
        await announceTopics()
        for (peer, theirs) in peerTopics where theirs.contains(name) {
            await join(name, via: peer)
        }
        return true
    }

    /// Leaves a topic: its neighbours are told, its entries stay stored. Returns false when
    /// not in it; `mesh` cannot be left.
    func unsubscribe(_ name: String) async throws(PlexusError) -> Bool {
        guard name != TopicName.mesh else {
            throw PlexusError(.invalidArgument, "every node is in the mesh topic; it cannot be left")
        }
        try await store.interests.unsubscribe(name)
        guard let topic = topics.removeValue(forKey: name) else { return false }
        for peer in topic.membership.active {
            await send(membershipFrame(.disconnect, topic: name), to: peer)
        }
        sessions = sessions.filter { $0.key.topic != name }
        await announceTopics()
        return true
    }

    /// Replaces the set of followed authors (empty: store every author).
    func setFollows(_ authors: Set<AgentID>) {
        follows = authors
    }

    /// The topics this node is in, with their overlay neighbours.
    func topicList() -> [(name: String, neighbors: [AgentID], reserve: Int)] {
        topics.map { ($0.key, $0.value.membership.active, $0.value.membership.passive.count) }.sorted { $0.name < $1.name }
    }

    /// Whether this node stores entries of `author`.
    func stores(_ author: AgentID) -> Bool {
        follows.isEmpty || author == me || follows.contains(author)
    }

    // MARK: - Events

    private func handle(_ event: MeshEvent) async {
        switch event {
        case .peerUp(let peer, let ip):
            peerIPs[peer] = ip
            await send(subscriptionsFrame(), to: peer)
            await join(TopicName.mesh, via: peer)
        case .peerDown(let peer):
            peerIPs.removeValue(forKey: peer)
            peerTopics.removeValue(forKey: peer)
            strikes.removeValue(forKey: peer)
            announceBudget.removeValue(forKey: peer)
            sessions = sessions.filter { $0.key.peer != peer }
            await failed(peer)
        case .frame(let peer, let frame):
            guard case .gossip(let gossip)? = frame.kind else { return }
            await receive(gossip, from: peer)
        }
    }

    /// Hands the entries delivered since the last tick to the store as one batch: under
    /// load, far fewer transactions and pages written than one per entry.
    private func flushDeliveries() {
        guard !toStore.isEmpty else { return }
        let batch = toStore
        toStore.removeAll(keepingCapacity: true)
        let store = self.store
        Task { _ = try? await store.ingest(contentsOf: batch, arrival: .pushed) }
    }

    private func tick() async {
        flushDeliveries()
        let time = now
        for name in Array(topics.keys) {
            let membership = topics[name]?.membership.tick(now: time) ?? []
            let broadcast = topics[name]?.broadcast.tick(now: time) ?? []
            await execute(membership, topic: name)
            await execute(broadcast, topic: name, verified: nil)
        }
        await discoveryTick(now: time)
        await antiEntropyTick(now: time)
        if time >= nextRecordSweep {
            nextRecordSweep = time + .seconds(5)
            expireRecords()
        }
    }

    private func receive(_ gossip: Plexus_Gossip, from peer: AgentID) async {
        guard let kind = gossip.kind else { return }
        received[Self.name(of: kind), default: 0] += 1
        switch kind {
        case .subscriptions(let list):
            await learnTopics(list.topics, of: peer)
            return
        case .topicQuery(let query):
            await receiveTopicQuery(query, topic: gossip.topic, from: peer)
            return
        case .topicMembers(let list):
            await receiveTopicMembers(list, topic: gossip.topic, from: peer)
            return
        case .records(let list):
            await receiveRecords(list, from: peer)
            return
        default:
            break
        }
        let name = gossip.topic
        let time = now
        guard let isNeighbor = topics[name]?.membership.active.contains(peer) else { return }
        switch kind {
        case .join(let ref):
            remember(ref, sender: peer)
            await membership(.join, from: peer, topic: name)
        case .forwardJoin(let forward):
            guard let joiner = remember(forward.peer) else { return }
            await membership(.forwardJoin(peer: joiner, ttl: Int(forward.ttl)), from: peer, topic: name)
        case .neighbor(let high):
            await membership(.neighbor(highPriority: high), from: peer, topic: name)
        case .neighborReply(let accepted):
            await membership(.neighborReply(accepted: accepted), from: peer, topic: name)
        case .disconnect:
            await membership(.disconnect, from: peer, topic: name)
        case .shuffle(let shuffle):
            guard let origin = remember(shuffle.origin) else { return }
            let peers = shuffle.peers.prefix(32).compactMap { remember($0) }
            await membership(.shuffle(origin: origin, ttl: Int(shuffle.ttl), peers: peers), from: peer, topic: name)
        case .shuffleReply(let list):
            await membership(.shuffleReply(peers: list.peers.prefix(32).compactMap { remember($0) }), from: peer, topic: name)
        case .push(let push):
            // Broadcast traffic only from neighbours, and only verified entries go further.
            guard isNeighbor else { return }
            // A copy of an entry already received is a duplicate whatever its signature
            // says: PlumTree only prunes the link, so it is not verified again.
            if let id = SignedEntry.id(ofEncoded: push.entry), topics[name]?.broadcast.hasReceived(id) == true {
                received["duplicate", default: 0] += 1
                await broadcast(.gossip(id: id, payload: push.entry, round: Int(push.round)), from: peer, topic: name, now: time)
                return
            }
            guard let entry = try? SignedEntry(encoded: push.entry, limits: limits),
                  TopicName.replication(of: entry.topic) == name
            else {
                await misbehaved(peer, "pushed an invalid entry or one of another topic")
                return
            }
            await broadcast(.gossip(id: entry.id, payload: push.entry, round: Int(push.round)), from: peer, topic: name, now: time, verified: entry)
        case .ihave(let ihave):
            guard isNeighbor else { return }
            let allowed = spendAnnounceBudget(of: peer, count: ihave.items.count, now: time)
            if allowed < ihave.items.count {
                await misbehaved(peer, "announced more entries than its IHAVE budget")
            }
            let items = ihave.items.prefix(min(allowed, 256)).compactMap { item in
                EntryID(bytes: item.id).map { PlumTree<AgentID, EntryID, Data>.Announcement(id: $0, round: Int(item.round)) }
            }
            guard !items.isEmpty else { return }
            await broadcast(.ihave(items), from: peer, topic: name, now: time)
        case .graft(let graft):
            guard isNeighbor else { return }
            await broadcast(.graft(id: EntryID(bytes: graft.id), round: Int(graft.round)), from: peer, topic: name, now: time)
        case .prune:
            await broadcast(.prune, from: peer, topic: name, now: time)
        case .sync(let ranges):
            await receiveRanges(ranges, from: peer, topic: name)
        case .wants(let wants):
            await receiveWants(wants, from: peer, topic: name)
        case .batch(let batch):
            receiveBatch(batch, from: peer, topic: name)
        case .credit(let bytes):
            await receiveCredit(Int(bytes), from: peer, topic: name)
        case .topicQuery, .topicMembers:
            break  // handled above: they concern topics this node may not be in
        case .subscriptions, .records:
            break  // handled above: they are not traffic of one topic's overlay
        }
    }

    private static func name(of kind: Plexus_Gossip.OneOf_Kind) -> String {
        switch kind {
        case .join: "join"
        case .forwardJoin: "forward_join"
        case .neighbor: "neighbor"
        case .neighborReply: "neighbor_reply"
        case .disconnect: "disconnect"
        case .shuffle: "shuffle"
        case .shuffleReply: "shuffle_reply"
        case .push: "push"
        case .ihave: "ihave"
        case .graft: "graft"
        case .prune: "prune"
        case .subscriptions: "subscriptions"
        case .sync: "sync"
        case .wants: "wants"
        case .batch: "batch"
        case .credit: "credit"
        case .topicQuery: "topic_query"
        case .topicMembers: "topic_members"
        case .records: "records"
        }
    }

    private func broadcast(
        _ message: PlumTree<AgentID, EntryID, Data>.Message, from peer: AgentID, topic: String, now time: Duration,
        verified: SignedEntry? = nil
    ) async {
        guard let actions = topics[topic]?.broadcast.handle(message, from: peer, now: time) else { return }
        await execute(actions, topic: topic, verified: verified)
    }

    private func membership(_ message: HyParView<AgentID>.Message, from peer: AgentID, topic: String) async {
        let time = now
        guard let actions = topics[topic]?.membership.handle(message, from: peer, now: time) else { return }
        await execute(actions, topic: topic)
    }

    /// Joins a topic's overlay through a connected peer while this node has no neighbour in
    /// it. Once in, the overlay fills and repairs its views itself (forward-joins, passive
    /// peers, shuffles); joining through every new connection would set off a cascade of
    /// forward-joins and evictions each time.
    func join(_ name: String, via peer: AgentID) async {
        guard let membership = topics[name]?.membership, membership.active.isEmpty,
              let actions = topics[name]?.membership.join(via: peer)
        else { return }
        await execute(actions, topic: name)
    }

    private func learnTopics(_ names: [String], of peer: AgentID) async {
        let theirs = Set(names.prefix(Self.maxTopics).filter { $0.utf8.count <= TopicName.maxBytes })
        let new = theirs.subtracting(peerTopics[peer] ?? [])
        peerTopics[peer] = theirs
        for name in new where name != TopicName.mesh && topics[name] != nil {
            await join(name, via: peer)
        }
    }

    /// Tells every connected peer which topics this node is in.
    private func announceTopics() async {
        let frame = subscriptionsFrame()
        for peer in peerIPs.keys {
            await send(frame, to: peer)
        }
    }

    private func subscriptionsFrame() -> Plexus_Gossip {
        .with { $0.subscriptions = .with { $0.topics = topics.keys.sorted() } }
    }

    /// Counts an invalid message against a peer; past `maxStrikes` the peer is dropped.
    func misbehaved(_ peer: AgentID, _ what: String) async {
        let count = (strikes[peer] ?? 0) + 1
        strikes[peer] = count
        logger.info("peer sent invalid gossip", metadata: ["peer": "\(peer.short)", "what": "\(what)", "strikes": "\(count)"])
        if count >= Self.maxStrikes {
            logger.warning("dropping a misbehaving peer", metadata: ["peer": "\(peer.short)"])
            strikes.removeValue(forKey: peer)
            await mesh.disconnect(peer)
        }
    }

    /// IHAVE announcements a peer may make (`mesh: ihave_rate` per second sustained,
    /// `ihave_burst` at once). Each unknown id costs a timer and a GRAFT here, so a flood is
    /// cut off at the budget.
    private func spendAnnounceBudget(of peer: AgentID, count: Int, now time: Duration) -> Int {
        let rate = announceRate
        let burst = announceBurst
        var budget = announceBudget[peer] ?? (burst, time)
        budget.tokens = min(burst, budget.tokens + rate * ((time - budget.at) / .seconds(1)))
        budget.at = time
        let allowed = min(count, Int(budget.tokens))
        budget.tokens -= Double(allowed)
        announceBudget[peer] = budget
        return allowed
    }

    // MARK: - Actions

    func execute(_ actions: [HyParView<AgentID>.Action], topic: String) async {
        for action in actions {
            switch action {
            case .send(let peer, let message):
                await send(membershipFrame(message, topic: topic), to: peer)
            case .neighborUp(let peer):
                topics[topic]?.broadcast.neighborUp(peer)
                if topic == TopicName.mesh { await sendAllRecords(to: peer) }
                await neighborJoined(peer, topic: topic)
            case .neighborDown(let peer):
                topics[topic]?.broadcast.neighborDown(peer)
            }
        }
    }

    /// `verified` is the entry of the push being handled: the only thing a `deliver` can be.
    private func execute(_ actions: [PlumTree<AgentID, EntryID, Data>.Action], topic: String, verified: SignedEntry?) async {
        // Frames to one peer go out together: one hop to its event loop, one flush.
        var outgoing: [(peer: AgentID, frames: [Plexus_Frame])] = []
        for action in actions {
            switch action {
            case .send(let peer, let message):
                var gossip = Plexus_Gossip()
                gossip.topic = topic
                switch message {
                case .gossip(_, let payload, let round):
                    gossip.push = .with { $0.entry = payload; $0.round = UInt32(clamping: round) }
                case .ihave(let items):
                    gossip.ihave = .with { list in
                        list.items = items.map { item in .with { $0.id = item.id.bytes.asData; $0.round = UInt32(clamping: item.round) } }
                    }
                case .graft(let id, let round):
                    gossip.graft = .with { $0.id = id?.bytes.asData ?? Data(); $0.round = UInt32(clamping: round) }
                case .prune:
                    gossip.prune = true
                }
                let frame = Plexus_Frame.with { $0.gossip = gossip }
                if let index = outgoing.firstIndex(where: { $0.peer == peer }) {
                    outgoing[index].frames.append(frame)
                } else {
                    outgoing.append((peer, [frame]))
                }
            case .deliver(let id, _, _):
                // Verified before it reached the state machine; follows and the feed rules
                // decide whether it is stored. It is forwarded either way.
                guard let verified, verified.id == id, stores(verified.author) else { continue }
                // Stored with the others delivered this tick, in one transaction and off the
                // event path: gossip goes on while the writer commits.
                toStore.append(verified)
                if toStore.count >= EntryWriter.maxBatch { flushDeliveries() }
            }
        }
        for (peer, frames) in outgoing {
            await send(frames, to: peer)
        }
    }

    private func membershipFrame(_ message: HyParView<AgentID>.Message, topic: String) -> Plexus_Gossip {
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

    /// Sends over the existing connection, or dials the peer's known address first.
    func send(_ gossip: Plexus_Gossip, to peer: AgentID) async {
        await send([Plexus_Frame.with { $0.gossip = gossip }], to: peer)
    }

    private func send(_ frames: [Plexus_Frame], to peer: AgentID) async {
        switch mesh.trySend(frames, to: peer) {
        case .sent:
            for frame in frames {
                guard case .gossip(let gossip)? = frame.kind, let kind = gossip.kind else { continue }
                sent[Self.name(of: kind), default: 0] += 1
                if case .push = kind { EntriesSent.push.increment() }
            }
            return
        case .queueFull:
            // A slow peer, not a lost one: gossip repairs the loss (IHAVE/GRAFT, anti-entropy)
            // and the transport drops the peer if it stays this slow.
            dropped += 1
            return
        case .notConnected:
            break
        }
        guard let address = addresses[peer], let target = try? HostPort.parse(address, defaultHost: "127.0.0.1"),
              !dialing.contains(peer)
        else {
            await failed(peer)
            return
        }
        dialing.insert(peer)
        let mesh = self.mesh
        Task {
            let connected = (try? await mesh.connect(host: target.host, port: target.port, expectedPeer: peer)) != nil
            let sent = connected ? mesh.send(frames, to: peer) : false
            await self.dialed(peer, ok: sent)
        }
    }

    private func dialed(_ peer: AgentID, ok: Bool) async {
        dialing.remove(peer)
        if !ok { await failed(peer) }
    }

    private func failed(_ peer: AgentID) async {
        let time = now
        for name in Array(topics.keys) {
            guard let actions = topics[name]?.membership.peerFailed(peer, now: time) else { continue }
            await execute(actions, topic: name)
        }
    }

    private func makeTopic(_ name: String) -> Topic {
        Self.makeTopic(name, me: me, seed: seed, now: now, wallMs: wallClock())
    }

    /// Each topic's overlay draws its own random choices, deterministically per node.
    private static func makeTopic(_ name: String, me: AgentID, seed: UInt64, now: Duration, wallMs: Int64) -> Topic {
        var topicSeed = seed
        for byte in name.utf8 { topicSeed = (topicSeed ^ UInt64(byte)) &* 0x100_0000_01b3 }
        // Announcements every 50 ms; a missing entry is grafted after 150 ms, long enough
        // that a busy node does not graft what its tree link is still bringing. No hop-count
        // optimisation: with one tree shared by every sender, swapping links for one sender's
        // shorter path can cut the tree for the others (PROTOCOL.md §7).
        var broadcast = PlumTree<AgentID, EntryID, Data>.Config()
        broadcast.ihaveInterval = .milliseconds(50)
        broadcast.graftTimeout = .milliseconds(150)
        broadcast.graftRetry = .milliseconds(20)
        broadcast.optimizationThreshold = .max
        return Topic(membership: HyParView(me: me, seed: topicSeed, now: now), broadcast: PlumTree(config: broadcast), joinedMs: wallMs)
    }

    func ref(_ peer: AgentID) -> Plexus_PeerRef {
        .with { $0.agent = peer.bytes.asData; $0.address = peer == me ? advertised : (addresses[peer] ?? "") }
    }

    /// Records where a peer accepts connections. A peer listening on every interface
    /// (0.0.0.0 or ::) is reached at the IP its own connection came from.
    @discardableResult
    func remember(_ ref: Plexus_PeerRef, sender: AgentID? = nil) -> AgentID? {
        guard let agent = AgentID(bytes: ref.agent) else { return nil }
        guard agent != me, !ref.address.isEmpty, ref.address.utf8.count <= 300,
              var target = try? HostPort.parse(ref.address, defaultHost: "127.0.0.1")
        else { return agent }
        if target.host == "0.0.0.0" || target.host == "::" {
            guard agent == sender, let ip = peerIPs[agent] else { return agent }
            target.host = ip
        }
        addresses[agent] = target.description
        if addresses.count > Self.maxAddresses { forgetUnusedAddresses() }
        return agent
    }

    /// Most remembered peer addresses; beyond it, those of peers in no view are dropped.
    static let maxAddresses = 4096

    private func forgetUnusedAddresses() {
        var inUse: Set<AgentID> = []
        for topic in topics.values {
            inUse.formUnion(topic.membership.active)
            inUse.formUnion(topic.membership.passive)
        }
        addresses = addresses.filter { inUse.contains($0.key) }
    }
}
