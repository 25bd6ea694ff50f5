import Foundation
import Logging
import PlexusCore
import PlexusNet
import PlexusProtocol
import PlexusStore

/// Drives the node's gossip state machine (`GossipState`, PlexusProtocol) over the mesh:
/// hands it the gossip channel's frames, peer events and ticks (every 25 ms within a second
/// of the last event, every 250 ms on a quiet mesh: the fine timers, IHAVE batches and
/// grafts, are set by events and run out sooner; the others are a second or more apart),
/// and carries out what it asks — sends (batched per peer), dials, deliveries to the store,
/// disconnects.
/// Anti-entropy's IO (AntiEntropy.swift) runs the rounds the state machine schedules. This
/// is the IO half; everything that decides is in `GossipState`, which the simulator runs
/// with the same configuration.
actor GossipEngine {
    let me: AgentID
    let mesh: ConnectionManager
    /// The gossip channel's frames and peer events, in order.
    private let inbound: MeshEventStream
    let store: EntryStore
    let limits: Limits
    let logger: Logger
    let syncInterval: Duration
    let wallClock: @Sendable () -> Int64
    private let started = ContinuousClock.now
    private(set) var state: GossipState
    /// Gossip frames not sent because the peer's queue was full.
    private(set) var dropped = 0
    /// Gossip messages received, by kind, and `duplicate` for pushes of entries already
    /// received (for status).
    var received: [String: Int] {
        var counts = receivedByKind
        if state.duplicatePushes > 0 { counts["duplicate"] = state.duplicatePushes }
        return counts
    }
    private var receivedByKind: [String: Int] = [:]
    /// Gossip messages handed to the transport, by kind.
    private(set) var sent: [String: Int] = [:]
    /// Peers' records newly kept here, counted by kind: readers of records wait on them.
    private var recordArrivals: [SignedRecord.Kind: ArrivalSignal] = [:]
    private var recordsKept: [SignedRecord.Kind: Int64] = [:]
    /// Anti-entropy with each neighbour and topic, the last session epoch handed out, and
    /// how many anti-entropy handlers run beside the gossip loop.
    var sessions: [SyncKey: FeedSyncSession] = [:]
    var sessionEpoch: UInt64 = 0
    private var antiEntropyTasks = 0
    /// Delivered entries waiting for the store, in delivery order, and whether a task is
    /// storing them.
    private var deliveries: [SignedEntry] = []
    private var storingDeliveries = false
    /// When the last event other than a tick was handled, and the quiet pause it ends.
    private var lastEvent = ContinuousClock.now
    private let quiet = Alarm()
    private static let busyTick = Duration.milliseconds(25)
    private static let quietTick = Duration.milliseconds(250)
    private static let quietAfter = Duration.seconds(1)

    init(
        me: AgentKey, mesh: ConnectionManager, inbound: MeshEventStream, store: EntryStore, config: GossipState.Config,
        logger: Logger, wallClock: @escaping @Sendable () -> Int64
    ) {
        self.me = me.id
        self.mesh = mesh
        self.inbound = inbound
        self.store = store
        self.limits = config.limits
        self.syncInterval = config.syncInterval
        self.logger = logger
        self.wallClock = wallClock
        state = GossipState(config: config, now: GossipState.Now(elapsed: .zero, wallMs: wallClock()))
    }

    /// Time since the engine started (its timers' clock).
    var elapsed: Duration { ContinuousClock.now - started }

    /// The state machine's view of time.
    private var now: GossipState.Now { GossipState.Now(elapsed: elapsed, wallMs: wallClock()) }

    /// Runs until cancelled: loads subscriptions and follows, then consumes the gossip
    /// channel and ticks the state machine.
    func run(advertising address: String?) async {
        await handle(.setAdvertised(address ?? ""))
        do {
            for name in try await store.interests.topics() where state.topicCount < state.config.maxTopics {
                await handle(.subscribe(name))
            }
            await handle(.setFollows(Set(try await store.interests.follows())))
        } catch {
            logger.error("cannot load subscriptions and follows", metadata: ["error": "\(error)"])
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in self.inbound { await self.receive(event) }
            }
            group.addTask {
                while !Task.isCancelled {
                    await self.pauseBeforeTick()
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
        if !state.isIn(topic) {
            _ = try? await subscribe(topic)
        }
        await handle(.spread(entry))
    }

    /// Spreads an entry stored here (published, or submitted from elsewhere) to the
    /// neighbours of its topic, when this node is in the topic.
    func spread(_ entry: SignedEntry) async {
        await handle(.spread(entry))
    }

    /// Joins a topic (remembered across restarts). Returns false when already in it.
    func subscribe(_ name: String) async throws(PlexusError) -> Bool {
        let name = try TopicName.validated(name)
        if name == TopicName.mesh || state.isIn(name) { return false }
        guard state.topicCount < state.config.maxTopics else {
            throw PlexusError(.invalidArgument, "a node is in at most \(state.config.maxTopics) topics")
        }
        try await store.interests.subscribe(name)
        guard !state.isIn(name) else { return false }
        await handle(.subscribe(name))
        return true
    }

    /// Leaves a topic: its neighbours are told, its entries stay stored. Returns false when
    /// not in it; `mesh` cannot be left.
    func unsubscribe(_ name: String) async throws(PlexusError) -> Bool {
        guard name != TopicName.mesh else {
            throw PlexusError(.invalidArgument, "every node is in the mesh topic; it cannot be left")
        }
        try await store.interests.unsubscribe(name)
        guard state.isIn(name) else { return false }
        await handle(.unsubscribe(name))
        sessions = sessions.filter { $0.key.topic != name }
        return true
    }

    /// Replaces the set of followed authors (empty: store every author).
    func setFollows(_ authors: Set<AgentID>) async {
        await handle(.setFollows(authors))
    }

    /// Authors whose entries are neither stored, asked for nor passed on (blocked contacts).
    func setBlocked(_ authors: Set<AgentID>) async {
        await handle(.setBlocked(authors))
    }

    /// The topics this node is in, with their overlay neighbours.
    func topicList() -> [(name: String, neighbors: [AgentID], reserve: Int)] {
        state.topicList
    }

    /// Whether this node stores entries of `author`.
    func stores(_ author: AgentID) -> Bool {
        state.stores(author)
    }

    /// Lets only `members` take part in a topic's overlay here (nil: anyone).
    func restrict(_ topic: String, to members: Set<AgentID>?) async {
        await handle(.restrict(topic, members: members))
    }

    /// Keeps this node's own record and sends it to every mesh neighbour (PROTOCOL.md §9).
    func publishRecord(_ record: SignedRecord) async {
        await handle(.publishRecord(record))
    }

    /// The unexpired records of a kind held here, newest first.
    func records(of kind: SignedRecord.Kind) -> [SignedRecord] {
        state.records(of: kind, nowMs: wallClock())
    }

    /// Counts the records of a kind newly kept from peers, to wait on.
    func recordArrivals(of kind: SignedRecord.Kind) -> ArrivalSignal {
        if let signal = recordArrivals[kind] { return signal }
        let signal = ArrivalSignal(latest: recordsKept[kind] ?? 0)
        recordArrivals[kind] = signal
        return signal
    }

    /// The current record of one author, if held.
    func record(of author: AgentID, kind: SignedRecord.Kind) -> SignedRecord? {
        state.record(of: author, kind: kind, nowMs: wallClock())
    }

    /// Counts an invalid message against a peer (past the limit it is dropped).
    func misbehaved(_ peer: AgentID, _ what: String) async {
        await handle(.misbehaved(peer, what))
    }

    // MARK: - Driving the state machine

    private func receive(_ event: MeshEvent) async {
        switch event {
        case .peerUp(let peer, let ip, let bootstrap):
            await handle(.peerUp(peer, ip: ip, bootstrap: bootstrap))
        case .peerDown(let peer):
            sessions = sessions.filter { $0.key.peer != peer }
            await handle(.peerDown(peer))
        case .frame(let peer, let frame):
            guard case .gossip(let gossip)? = frame.kind, let kind = gossip.kind else { return }
            receivedByKind[Self.name(of: kind), default: 0] += 1
            await handle(.received(gossip, from: peer))
        }
    }

    private func pauseBeforeTick() async {
        if ContinuousClock.now - lastEvent < Self.quietAfter {
            try? await Task.sleep(for: Self.busyTick)
        } else {
            await quiet.pause(for: Self.quietTick)
        }
    }

    private func tick() async {
        await handle(.tick)
        await antiEntropyTick()
    }

    func handle(_ event: GossipState.Event) async {
        if case .tick = event {} else {
            lastEvent = .now
            quiet.ring()
        }
        let actions = state.handle(event, now: now)
        await execute(actions)
    }

    private func execute(_ actions: [GossipState.Action]) async {
        // Messages to one peer go out together: one hop to its event loop, one flush. They
        // go out, in order, before any action that awaits: while this actor waits, other
        // events send too, and must not overtake what the state machine said first.
        var outgoing: [(peer: AgentID, messages: [Plexus_Gossip])] = []
        var delivered: [SignedEntry] = []
        for action in actions {
            switch action {
            case .send(let peer, let message):
                if let index = outgoing.firstIndex(where: { $0.peer == peer }) {
                    outgoing[index].messages.append(message)
                } else {
                    outgoing.append((peer, [message]))
                }
            case .dial(let peer, let address, let messages):
                dial(peer, at: address, then: messages)
            case .deliver(let entry):
                delivered.append(entry)
                if delivered.count == EntryWriter.maxBatch { storeDelivered(&delivered) }
            case .disconnect(let peer):
                await flush(&outgoing)
                logger.warning("dropping a misbehaving peer", metadata: ["peer": "\(peer.short)"])
                await mesh.disconnect(peer)
            case .strike(let peer, let what, let count):
                logger.info("peer sent invalid gossip", metadata: ["peer": "\(peer.short)", "what": "\(what)", "strikes": "\(count)"])
            case .neighborUp(let peer, let topic):
                await runBesideLoop(&outgoing) { await $0.neighborJoined(peer, topic: topic) }
            case .syncRound(let peer, let topic):
                await runBesideLoop(&outgoing) { await $0.startRound(with: peer, topic: topic) }
            case .antiEntropy(let gossip, let peer):
                await runBesideLoop(&outgoing) { await $0.receiveAntiEntropy(gossip, from: peer) }
            case .keptRecord(let kind):
                let kept = recordsKept[kind, default: 0] + 1
                recordsKept[kind] = kept
                await recordArrivals(of: kind).advance(to: kept)
            }
        }
        await flush(&outgoing)
        storeDelivered(&delivered)
    }

    /// Anti-entropy work reads the store: it runs beside the gossip channel's loop, not in
    /// it, so pushes and announcements are not held up behind store reads (at most
    /// `maxAntiEntropyTasks` at once; beyond that it runs in line, which slows the loop
    /// instead of letting work pile up).
    private func runBesideLoop(
        _ outgoing: inout [(peer: AgentID, messages: [Plexus_Gossip])], _ work: @escaping @Sendable (GossipEngine) async -> Void
    ) async {
        await flush(&outgoing)
        guard antiEntropyTasks < Self.maxAntiEntropyTasks else {
            await work(self)
            return
        }
        antiEntropyTasks += 1
        Task {
            await work(self)
            self.antiEntropyEnded()
        }
    }

    private func antiEntropyEnded() { antiEntropyTasks -= 1 }

    /// Anti-entropy messages and rounds being handled beside the gossip loop, at most.
    static let maxAntiEntropyTasks = 256

    private func flush(_ outgoing: inout [(peer: AgentID, messages: [Plexus_Gossip])]) async {
        let batch = outgoing
        outgoing.removeAll()
        for (peer, messages) in batch { await send(messages, to: peer) }
    }

    /// Sends over the existing connection; without one, the state machine decides (dial the
    /// peer's known address, or count it as failed).
    func send(_ gossip: Plexus_Gossip, to peer: AgentID) async {
        await send([gossip], to: peer)
    }

    private func send(_ messages: [Plexus_Gossip], to peer: AgentID) async {
        switch mesh.trySend(messages.map { message in Plexus_Frame.with { $0.gossip = message } }, to: peer) {
        case .sent:
            for message in messages {
                guard let kind = message.kind else { continue }
                sent[Self.name(of: kind), default: 0] += 1
                if case .push = kind { EntriesSent.push.increment() }
            }
        case .queueFull:
            // A slow peer, not a lost one: gossip repairs the loss (IHAVE/GRAFT, anti-entropy)
            // and the transport drops the peer if it stays this slow.
            dropped += 1
        case .notConnected:
            await handle(.unreachable(peer, messages))
        }
    }

    private func dial(_ peer: AgentID, at address: String, then messages: [Plexus_Gossip]) {
        guard let target = try? HostPort.parse(address, defaultHost: "127.0.0.1") else {
            Task { await self.handle(.dialed(peer, ok: false)) }
            return
        }
        let mesh = self.mesh
        Task {
            let connected = (try? await mesh.connect(host: target.host, port: target.port, expectedPeer: peer)) != nil
            let sent = connected && mesh.send(messages.map { message in Plexus_Frame.with { $0.gossip = message } }, to: peer)
            await self.handle(.dialed(peer, ok: sent))
        }
    }

    /// Queues the entries one event delivered for the store, off the event path: gossip goes
    /// on while the writer commits. One task stores the queue at a time, in delivery order
    /// (an author's entries reach the writer in the order they came, so they link as they
    /// arrive, and of two sides of a fork the first delivered is the one kept); under load
    /// each of its batches holds the deliveries of many events. Beyond
    /// `maxQueuedDeliveries` new deliveries are dropped: anti-entropy fetches them again.
    private func storeDelivered(_ delivered: inout [SignedEntry]) {
        guard !delivered.isEmpty else { return }
        let room = max(0, Self.maxQueuedDeliveries - deliveries.count)
        if delivered.count > room {
            logger.warning("the store is behind; delivered entries dropped", metadata: ["dropped": "\(delivered.count - room)"])
        }
        deliveries.append(contentsOf: delivered.prefix(room))
        delivered.removeAll(keepingCapacity: true)
        guard !storingDeliveries, !deliveries.isEmpty else { return }
        storingDeliveries = true
        Task { await self.storeDeliveries() }
    }

    /// Stores the queued deliveries, a writer batch at a time, until none are left.
    private func storeDeliveries() async {
        while !deliveries.isEmpty {
            let batch = Array(deliveries.prefix(EntryWriter.maxBatch))
            deliveries.removeFirst(batch.count)
            do {
                _ = try await store.ingest(contentsOf: batch, arrival: .pushed)
            } catch {
                logger.warning("delivered entries not stored", metadata: ["entries": "\(batch.count)", "error": "\(error)"])
            }
        }
        storingDeliveries = false
    }

    /// Most delivered entries waiting for the store (the writer's own queue bound).
    static let maxQueuedDeliveries = EntryWriter.maxPending

    static func name(of kind: Plexus_Gossip.OneOf_Kind) -> String {
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
}
