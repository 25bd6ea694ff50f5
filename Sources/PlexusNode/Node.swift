import Foundation
import Logging
import Metrics
import PlexusCore
import PlexusNet
import PlexusProtocol
import PlexusStore
import ServiceLifecycle

/// A running Plexus node: one agent identity, its store, and the operations agents use.
/// Interfaces (HTTP, CLI, MCP) are thin layers over this actor (DESIGN §10).
public actor Node {
    /// The node's own agent id.
    public nonisolated let id: AgentID
    /// The resolved configuration.
    public nonisolated let config: NodeConfig
    /// The entry store. Upper layers reach it through the node's operations, which keep
    /// every arrival on the one ingest path.
    nonisolated let store: EntryStore
    /// Whether the identity key is sealed with a passphrase on disk.
    public nonisolated let keysEncrypted: Bool
    /// The mesh transport.
    nonisolated let mesh: ConnectionManager
    nonisolated let gossip: GossipEngine
    /// The private groups this node is in, as loaded at start (`groups` waits for that).
    nonisolated let privateGroups: PrivateGroups
    /// The private groups this node is in, once read back from the store: a request that
    /// comes in while the node starts waits for them instead of finding none.
    nonisolated var groups: PrivateGroups {
        get async {
            await privateGroups.load()
            return privateGroups
        }
    }
    /// The retention policies and their sweep.
    nonisolated let retention: Retention
    /// Contacts' trust as the mesh, the ingest pipeline and the task inbox apply it.
    nonisolated let trust: TrustGate
    /// Direct messages: the outbox, the inbox, relaying.
    nonisolated let direct: DirectMessages
    let directInbound: MeshEventStream
    /// Tasks sent from here, and tasks that arrived for this agent.
    nonisolated let taskRouter: TaskRouter
    nonisolated let inbox: TaskInbox
    /// Task updates from this node's inbox to its own router (a task sent to itself).
    nonisolated let localTasks: AsyncStream<(AgentID, Plexus_Task)>
    /// The Kademlia DHT over the mesh.
    nonisolated let dht: DHTService
    /// Frames of the task and DHT channels, registered with the mesh before it starts.
    nonisolated let taskInbound: MeshEventStream
    nonisolated let dhtInbound: MeshEventStream
    /// Blobs served to and fetched from peers, and their frames.
    nonisolated let blobs: BlobExchange
    nonisolated let blobInbound: MeshEventStream
    /// The relay each remote caller's last relayed task came through: where replies go when
    /// the caller is not connected directly.
    nonisolated let relayPaths: RelayPaths
    var meshAddress: String?

    let key: AgentKey
    /// `plexus_entries_published_total`: entries this node signed.
    private nonisolated let publishedCounter = Counter(label: "plexus_entries_published_total")
    /// `plexus_tasks_relayed_total`: task messages forwarded for other agents.
    nonisolated let relayedCounter = Counter(label: "plexus_tasks_relayed_total")
    let logger: Logger
    /// The node's one clock: everything here that needs the time reads it.
    let clock: NodeClock
    private let startedMs: Int64

    /// Opens a node over an already-unsealed key and an open store.
    public init(
        key: AgentKey, config: NodeConfig, store: EntryStore, keysEncrypted: Bool, logger: Logger,
        clock: NodeClock = .system
    ) {
        self.id = key.id
        self.key = key
        self.config = config
        self.store = store
        self.keysEncrypted = keysEncrypted
        self.logger = logger
        self.clock = clock
        self.startedMs = clock.nowMs
        let peerBook = store.peers
        self.mesh = ConnectionManager(
            identity: key,
            config: MeshConfig(
                listenHost: config.listen?.host, listenPort: config.listen?.port ?? 0, networkKey: config.networkKey,
                handshakeTimeout: .milliseconds(Int64(config.mesh.handshakeTimeoutMs)),
                keepaliveInterval: .milliseconds(Int64(min(15_000, config.mesh.idleTimeoutMs / 3))),
                idleTimeout: .milliseconds(Int64(config.mesh.idleTimeoutMs)),
                maxConnections: config.mesh.maxConnections, maxConnectionsPerIP: config.mesh.maxConnectionsPerIP,
                maxFrameBytes: config.mesh.maxFrameBytes, frameRate: config.mesh.frameRate, frameBurst: config.mesh.frameBurst),
            logger: logger,
            onPeerConnected: { address, agent in
                Task { try? await peerBook.connected(address, agent: agent) }
            })
        let (localTasks, localSink) = AsyncStream.makeStream(of: (AgentID, Plexus_Task).self, bufferingPolicy: .bufferingOldest(4096))
        self.localTasks = localTasks
        let me = key.id
        let mesh = self.mesh
        let dht = DHTService(me: me, clock: clock, mesh: mesh, logger: logger)
        self.dht = dht
        let relayPaths = RelayPaths()
        self.relayPaths = relayPaths
        let sweeps = Alarm()
        let inbox = TaskInbox(me: me, skills: config.agent.skills, clock: clock, sweeps: sweeps, logger: logger) { caller, task in
            if caller == me {
                localSink.yield((me, task))
            } else if await !mesh.sendWaiting([Plexus_Frame.with { $0.task = task }], to: caller), let relay = relayPaths[caller] {
                let sealed = RelayedTask.seal(task, by: key, for: caller)
                _ = await mesh.sendWaiting([Plexus_Frame.with { $0.task = sealed }], to: relay)
            }
        }
        self.inbox = inbox
        taskInbound = mesh.register([.task])
        dhtInbound = mesh.register([.dht])
        // Chunks are up to 1 MiB: a short queue bounds what waits in memory.
        blobInbound = mesh.register([.blob], peerEvents: true, bufferSize: 128)
        var gossipConfig = GossipState.Config(me: key.id)
        gossipConfig.limits = config.limits
        gossipConfig.syncInterval = .milliseconds(Int64(config.mesh.syncIntervalMs))
        gossipConfig.announceRate = config.mesh.ihaveRate
        gossipConfig.announceBurst = config.mesh.ihaveBurst
        let gossip = GossipEngine(
            me: key, mesh: mesh, inbound: mesh.register([.gossip], peerEvents: true), store: store, config: gossipConfig,
            logger: logger, wallClock: { clock.nowMs })
        self.gossip = gossip
        blobs = BlobExchange(
            store: store.blobs, mesh: mesh, settings: config.blobs, logger: logger,
            discover: { id, hints in
                await Node.blobSources(
                    id, hints: hints, me: me, store: store, mesh: mesh, gossip: gossip, dht: dht, nowMs: clock.nowMs, logger: logger)
            },
            provide: { id in await Node.provideBlobs([id], gossip: gossip, dht: dht, me: me) })
        let groups = PrivateGroups(
            key: key, store: store, gossip: gossip, clock: clock, logger: logger, limits: config.limits,
            lookup: { id throws(PlexusError) in try await Node.agent(id, in: gossip, dht: dht, nowMs: clock.nowMs) })
        self.privateGroups = groups
        store.addPolicy(groups)
        let trust = TrustGate(policy: config.trust)
        self.trust = trust
        store.addPolicy(trust)
        directInbound = mesh.register([.direct], peerEvents: true, bufferSize: 1024)
        direct = DirectMessages(
            key: key, store: store.direct, mesh: mesh, trust: trust, clock: clock, relays: config.agent.relay, logger: logger,
            lookup: { id throws(PlexusError) in try await Node.agent(id, in: gossip, dht: dht, nowMs: clock.nowMs) })
        self.retention = Retention(store: store, me: key.id, settings: config.retention, blobGraceS: config.blobs.graceS, logger: logger)
        self.taskRouter = TaskRouter(
            me: me, clock: clock, mesh: mesh, inbox: inbox, sweeps: sweeps, maxPayloadBytes: config.limits.maxBodyBytes,
            logger: logger,
            seal: { task, target in RelayedTask.seal(task, by: key, for: target) },
            directory: { query in await Node.agents(query, in: gossip, dht: dht, nowMs: clock.nowMs) },
            lookup: { id throws(PlexusError) in try await Node.agent(id, in: gossip, dht: dht, nowMs: clock.nowMs) })
    }

    /// Opens the node of a data directory, creating the identity on first run (so a
    /// newcomer needs no separate `init`). `passphrase` is asked for only when the key is sealed.
    public static func open(
        config: NodeConfig, logger: Logger, passphrase: () throws(PlexusError) -> String?
    ) throws(PlexusError) -> Node {
        let directory = DataDirectory(config.dataDirectory)
        if !directory.hasIdentity {
            let id = try directory.initialize(passphrase: nil, force: false)
            logger.notice("created a new identity", metadata: ["agent": "\(id)", "data": "\(directory.path)"])
        }
        let sealed = try directory.sealedKey()
        let key = try sealed.open(passphrase: sealed.needsPassphrase ? try passphrase() : nil)
        let clock = NodeClock.system
        let store = try EntryStore(path: directory.databaseFile.path, clock: { clock.nowMs })
        return Node(key: key, config: config, store: store, keysEncrypted: sealed.needsPassphrase, logger: logger, clock: clock)
    }

    /// Signs `draft` as the next entry of this agent's feed and stores it. Returns once the
    /// entry is durable. Runs off the actor: everything but seq, prev and the signature is
    /// prepared on the caller's task, so concurrent publishes use every core.
    public nonisolated func publish(_ draft: EntryDraft) async throws(PlexusError) -> StoredEntry {
        try await publish(draft, at: clock.nowMs)
    }

    /// Publishes a request; a `ttl_s` counts from the entry's own time (one clock reading).
    public nonisolated func publish(_ request: PublishRequest) async throws(PlexusError) -> StoredEntry {
        let now = clock.nowMs
        return try await publish(try Self.draft(of: request, at: now), at: now)
    }

    /// The draft of a request for this agent's own feed: no group fields, no delete type.
    private static func draft(of request: PublishRequest, at now: Int64) throws(PlexusError) -> EntryDraft {
        guard request.supersedes?.isEmpty ?? true else {
            throw PlexusError(.invalidArgument, "supersedes applies to group entries only (publish --group)")
        }
        guard request.type != DeleteRequest.type else {
            throw PlexusError(.invalidArgument, "type 'delete' is reserved for delete requests: use plexus delete (POST /v1/deletions)")
        }
        return try request.draft(nowMs: now)
    }

    /// Publishes a batch: every request is checked and prepared first (an error names the
    /// entry's index and nothing is stored), then all are signed with consecutive seqs and
    /// stored in one durable transaction, and spread in their topics.
    public nonisolated func publish(batch: PublishBatchRequest) async throws(PlexusError) -> [StoredEntry] {
        try PublishBatchRequest.check(count: batch.entries.count)
        let now = clock.nowMs
        var templates: [Plexus_EntryBody] = []
        var searchTexts: [String] = []
        templates.reserveCapacity(batch.entries.count)
        searchTexts.reserveCapacity(batch.entries.count)
        for (index, request) in batch.entries.enumerated() {
            do throws(PlexusError) {
                let draft = try Self.draft(of: request, at: now)
                templates.append(try Self.template(of: draft, at: now))
                searchTexts.append(IndexedEntry.searchText(of: draft.content))
            } catch {
                throw PlexusError(error.code, "entries[\(index)]: \(error.message)")
            }
        }
        let key = self.key
        let limits = config.limits
        let stored = try await store.writer.appendAll(as: id, searchTexts: { searchTexts[$0] }) { head throws(PlexusError) in
            var entries: [SignedEntry] = []
            entries.reserveCapacity(templates.count)
            var seq = (head?.seq ?? 0) + 1
            var prev = head?.id
            for (index, template) in templates.enumerated() {
                let entry: SignedEntry
                do throws(PlexusError) {
                    entry = try SignedEntry(signing: template.linked(seq: seq, prev: prev), with: key, limits: limits)
                } catch {
                    throw PlexusError(error.code, "entries[\(index)]: \(error.message)")
                }
                entries.append(entry)
                seq += 1
                prev = entry.id
            }
            return entries
        }
        logger.debug("published a batch", metadata: ["entries": "\(stored.count)", "last_seq": "\(stored.last?.entry.seq ?? 0)"])
        publishedCounter.increment(by: stored.count)
        for entry in stored { await gossip.publish(entry.entry) }
        return stored
    }

    /// The unsigned entry of a draft at `now`; refused when it would expire already.
    private static func template(of draft: EntryDraft, at now: Int64) throws(PlexusError) -> Plexus_EntryBody {
        if let expires = draft.expiresMs, Int64(clamping: expires) <= now {
            // Well-formed but refused for what it says: 422, like a signature that does not verify.
            throw PlexusError(.invalidContent, "expires_ms \(expires) is already in the past")
        }
        return try draft.template(timeMs: now)
    }

    private nonisolated func publish(_ draft: EntryDraft, at now: Int64) async throws(PlexusError) -> StoredEntry {
        let template = try Self.template(of: draft, at: now)
        let searchText = IndexedEntry.searchText(of: draft.content)
        let key = self.key
        let limits = config.limits
        let stored = try await store.writer.append(as: id, searchText: searchText) { head throws(PlexusError) in
            try SignedEntry(signing: template.linked(seq: (head?.seq ?? 0) + 1, prev: head?.id), with: key, limits: limits)
        }
        logger.debug("published", metadata: ["id": "\(stored.entry.id)", "seq": "\(stored.entry.seq)"])
        publishedCounter.increment()
        await gossip.publish(stored.entry)
        return stored
    }

    /// Verifies and stores an entry that came from outside this node (protobuf `Entry`
    /// bytes, as `POST /v1/entries` hands them in), and spreads it in its topic at once,
    /// like a local publish, when this node is in the topic.
    public nonisolated func submit(encoded: Data) async throws(PlexusError) -> IngestOutcome {
        let entry = try SignedEntry(encoded: encoded, limits: config.limits)
        let outcome = try await store.ingest(entry, arrival: .submitted)
        if outcome.stored != nil { await gossip.spread(entry) }
        return outcome
    }

    /// A page of entries. With `wait` and a `since` query, an empty page is not returned at
    /// once: the read waits up to `wait` for matching entries to arrive (a long-poll: what
    /// local listeners use to hear of entries as they are stored, published or replicated).
    public nonisolated func feed(_ query: FeedQuery, wait: Duration = .zero) async throws(PlexusError) -> FeedPage {
        try WaitTime.check(wait)
        guard wait > .zero else { return try await store.feed(query) }
        guard query.since != nil else {
            throw PlexusError(.invalidArgument, "waiting for entries needs 'since' (the cursor to wait beyond)")
        }
        let deadline = ContinuousClock.now + wait
        while true {
            // Read the mark first: an entry stored after it wakes the wait below at once.
            let mark = await store.arrivals.latest
            let page: FeedPage
            do {
                page = try await store.feed(query)
            } catch {
                // Cancelled while reading (the request gone, the node stopping): nothing
                // new, and the reader keeps its place.
                guard Task.isCancelled else { throw error }
                return FeedPage(entries: [], nextCursor: query.since, hasMore: false)
            }
            let remaining = deadline - ContinuousClock.now
            if !page.entries.isEmpty || remaining <= .zero || Task.isCancelled { return page }
            try await store.arrivals.wait(after: mark, timeout: remaining)
            // Cancelled (the request gone, the node stopping): the page as it was, since a
            // store read would now fail.
            if Task.isCancelled { return page }
        }
    }

    /// One entry by id; `notFound` if not held.
    public func entry(_ id: EntryID) async throws(PlexusError) -> StoredEntry {
        guard let stored = try await store.entry(id) else {
            if let tombstone = try await store.tombstone(id) {
                let why = switch tombstone.reason {
                case "deleted": "was deleted by its author"
                case "expired": "expired"
                default: "was removed by a retention policy"
                }
                throw PlexusError(
                    .notFound,
                    "entry \(id.hex.prefix(16)) (seq \(tombstone.seq) of \(tombstone.author.short)) \(why); its stub keeps id, seq and prev")
            }
            throw PlexusError(.notFound, "no entry \(id.hex) on this node")
        }
        return stored
    }

    /// Full-text search.
    public func search(_ query: SearchQuery) async throws(PlexusError) -> [SearchHit] {
        try await store.search(query)
    }

    /// What this node is and holds.
    public func status() async throws(PlexusError) -> NodeStatus {
        NodeStatus(
            agentID: id, version: PlexusVersion.current, dataDirectory: config.dataDirectory,
            uptimeMs: clock.nowMs - startedMs, keysEncrypted: keysEncrypted, store: try await store.stats(),
            mesh: MeshStatus(
                listen: meshAddress, peers: await mesh.peers().count, counts: mesh.counters.snapshot,
                gossipIn: await gossip.received, gossipOut: await gossip.sent, gossipDropped: await gossip.dropped))
    }

    /// Background duties until cancelled: the expiry sweep, every `expiry_interval_s` and
    /// as soon as the next held entry expires, so an expired entry stops being offered to
    /// peers (and counted in sync heads) within moments, not a whole interval later. An
    /// arriving entry with an expiry time may expire sooner than the next sweep: such
    /// arrivals (and only those) bring it forward.
    private func runDuties() async {
        let interval = Duration.seconds(config.expiryIntervalSeconds)
        var nextSweep = ContinuousClock.now
        while !Task.isCancelled {
            if ContinuousClock.now >= nextSweep {
                do {
                    let removed = try await store.expire()
                    if removed > 0 { logger.info("expired entries removed", metadata: ["count": "\(removed)"]) }
                    nextSweep = ContinuousClock.now + interval
                } catch {
                    logger.error("expiry sweep failed", metadata: ["error": "\(error)"])
                    nextSweep = ContinuousClock.now + .seconds(1)
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
            }
            let mark = await store.expiringArrivals.latest
            if let next = try? await store.nextExpiryMs() {
                nextSweep = min(nextSweep, ContinuousClock.now + .milliseconds(max(0, next - clock.nowMs + 1)))
            }
            let remaining = nextSweep - ContinuousClock.now
            guard remaining > .zero else { continue }
            do {
                // At most a second: each wait leaves a timer behind until its timeout.
                try await store.expiringArrivals.wait(after: mark, timeout: min(remaining, .seconds(1)))
            } catch {
                // Too many readers waiting for arrivals: fall back to the timer.
                try? await Task.sleep(for: min(remaining, .seconds(1)))
            }
            // Woken by arrivals: look again at most five times a second, however many come.
            try? await Task.sleep(for: min(.milliseconds(200), max(.zero, nextSweep - ContinuousClock.now)))
        }
    }
}

extension Node {
    /// The connected mesh peers.
    /// The connections, and the remembered addresses (`--peer`, `POST /v1/peers`) with no
    /// connection now: whether a dial is under way, when the next one is, and why the last
    /// failed. A connection to a remembered address or agent is marked `remembered`.
    public func peers() async throws(PlexusError) -> [PeerView] {
        let remembered = try await store.peers.all()
        let redials = await mesh.redialStates()
        var connected = await mesh.peers()
        var covered: Set<String> = []
        for index in connected.indices {
            let peer = connected[index]
            let match = remembered.first { book in
                (peer.direction == .outbound && book.address == peer.address) || (book.agentID != nil && book.agentID == peer.agentID)
            }
            guard let match else { continue }
            connected[index].remembered = true
            connected[index].lastConnectedMs = match.lastConnectedMs
            covered.insert(match.address)
        }
        let waiting = remembered.filter { !covered.contains($0.address) }.map { book in
            var view = PeerView(address: book.address, direction: .outbound, connectedMs: nil)
            let redial = redials[book.address]
            view.agentID = book.agentID
            view.state = redial?.dialling == true ? .dialling : .waiting
            view.remembered = true
            view.lastConnectedMs = book.lastConnectedMs
            view.nextDialMs = redial?.nextDialMs
            view.failedDials = redial?.failures
            view.lastError = redial?.lastError
            return view
        }
        return connected + waiting
    }

    /// Dials a peer now, and remembers it so it is redialled when it drops and after a
    /// restart. With `expected`, anyone else answering there is refused.
    public func connect(_ address: String, expected: AgentID? = nil) async throws(PlexusError) -> PeerView {
        let target = try HostPort.parse(address, defaultHost: "127.0.0.1")
        var view: PeerView
        do {
            view = try await mesh.connect(host: target.host, port: target.port, expectedPeer: expected)
        } catch let error as HandshakeError {
            throw PlexusError(.handshakeFailed, "handshake with \(target) failed: \(error)")
        } catch {
            throw PlexusError(.peerUnreachable, "cannot connect to \(target): \(error)")
        }
        try await store.peers.remember(target.description)
        await mesh.keepConnected(host: target.host, port: target.port)
        view.remembered = true  // as `peers()` lists it from now on
        return view
    }

    /// Disconnects a peer, named by agent id or by `host:port`, and forgets its remembered
    /// addresses so they are not redialled, now or after a restart. The gossip overlay may
    /// still connect to it later, as to any member of the mesh; peers in the config file
    /// are dialled again at the next start. `notFound` when neither connected nor remembered.
    public func removePeer(_ peer: String) async throws(PlexusError) -> PeerRemoval {
        let remembered = try await store.peers.all()
        let connected = await mesh.peers()
        let agent: AgentID?
        let addresses: [String]
        if let id = try? AgentID.parse(peer) {
            agent = id
            addresses = remembered.filter { $0.agentID == id }.map(\.address)
        } else {
            guard let address = (try? HostPort.parse(peer, defaultHost: "127.0.0.1"))?.description else {
                throw PlexusError(.invalidArgument, "'\(peer.prefix(80))' is neither an agent id nor a host:port address")
            }
            addresses = remembered.filter { $0.address == address }.map(\.address)
            agent = remembered.first { $0.address == address }?.agentID
                ?? connected.first { $0.address == address && $0.direction == .outbound }?.agentID
        }
        var forgotten: [String] = []
        for address in addresses {
            await mesh.stopKeeping(address)
            if try await store.peers.forget(address) { forgotten.append(address) }
        }
        let isConnected = agent.map { id in connected.contains { $0.agentID == id } } ?? false
        if isConnected, let agent { await mesh.disconnect(agent) }
        guard isConnected || !forgotten.isEmpty else {
            throw PlexusError(.notFound, "\(peer) is neither connected nor remembered")
        }
        logger.info("peer removed", metadata: ["peer": "\(peer)", "forgotten": "\(forgotten)"])
        return PeerRemoval(disconnected: isConnected, forgotten: forgotten)
    }

    /// Starts the mesh: listens, records `mesh.addr`, dials configured and remembered peers.
    private func startMesh() async throws {
        let directory = DataDirectory(config.dataDirectory)
        meshAddress = try await mesh.start()
        var addresses = config.peers.map(\.description)
        for remembered in try await store.peers.all() where !addresses.contains(remembered.address) {
            addresses.append(remembered.address)
        }
        for address in addresses {
            guard let target = try? HostPort.parse(address, defaultHost: "127.0.0.1") else { continue }
            await mesh.keepConnected(host: target.host, port: target.port)
        }
        // After the dials are under way: the file is written durably (an fsync), which a
        // cold start need not wait for.
        if let meshAddress {
            try directory.writeMeshAddress(meshAddress)
            logger.notice("mesh listening", metadata: ["address": "\(meshAddress)"])
        }
    }
}

extension Node {
    /// The topics this node is in, `mesh` included.
    public func topics() async throws(PlexusError) -> [TopicView] {
        var views: [TopicView] = []
        for topic in await gossip.topicList() {
            views.append(TopicView(
                name: topic.name, neighbors: topic.neighbors, reserve: topic.reserve,
                entries: try await store.count(inTopic: topic.name)))
        }
        return views
    }

    /// Joins a topic; its entries arrive from then on and its history by anti-entropy.
    /// Returns false when already in it.
    @discardableResult
    public func subscribe(_ topic: String) async throws(PlexusError) -> Bool {
        try await gossip.subscribe(topic)
    }

    /// Leaves a topic (its entries stay stored). Returns false when not in it.
    @discardableResult
    public func unsubscribe(_ topic: String) async throws(PlexusError) -> Bool {
        try await gossip.unsubscribe(topic)
    }

    /// The authors this node stores.
    public func follows() async throws(PlexusError) -> FollowsView {
        FollowsView(authors: try await store.interests.follows())
    }

    /// Restricts storage to followed authors (this one included); entries of others are
    /// still forwarded. Returns false when already followed.
    @discardableResult
    public func follow(_ author: AgentID) async throws(PlexusError) -> Bool {
        let added = try await store.interests.follow(author)
        await gossip.setFollows(Set(try await store.interests.follows()))
        return added
    }

    /// Stops following an author; with no follows left, every author is stored again.
    @discardableResult
    public func unfollow(_ author: AgentID) async throws(PlexusError) -> Bool {
        let removed = try await store.interests.unfollow(author)
        await gossip.setFollows(Set(try await store.interests.follows()))
        return removed
    }

    /// Anti-entropy with each neighbour and topic.
    public func sync() async -> [SyncView] {
        await gossip.syncViews()
    }
}

extension Node {
    /// Answers DHT frames and greets new peers, until cancelled.
    func runDHT(advertising address: String?) async {
        await dht.setAdvertised(address)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.dht.run() }
            group.addTask {
                for await case .frame(let peer, let frame) in self.dhtInbound {
                    if case .dht(let message)? = frame.kind { await self.dht.receive(message, from: peer) }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }
}

extension Node: Service {
    /// Runs the mesh and the node's background duties until graceful shutdown or cancellation.
    public func run() async throws {
        try await applyTrust()
        try await startMesh()
        let advertised = meshAddress
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.gossip.run(advertising: advertised) }
                group.addTask { await self.runDuties() }
                if self.config.agent.announce { group.addTask { await self.runAnnouncements() } }
                group.addTask { await self.runTasks() }
                group.addTask { await self.runDHT(advertising: advertised) }
                group.addTask { await self.privateGroups.run() }
                group.addTask { await self.retention.runSweeps() }
                group.addTask { await self.blobs.run(self.blobInbound) }
                group.addTask { await self.direct.run(self.directInbound) }
                if self.config.discovery.lan || self.config.discovery.mdns {
                    let port = advertised.flatMap { try? HostPort.parse($0, defaultHost: "0.0.0.0").port }
                    let discovery = LANDiscovery(
                        key: self.key, networkKey: self.config.networkKey, meshPort: port, settings: self.config.discovery, mesh: self.mesh,
                        clock: self.clock, logger: self.logger)
                    group.addTask { await discovery.run() }
                }
                await group.next()
                group.cancelAll()
            }
        }
        await mesh.shutdown()
    }
}
