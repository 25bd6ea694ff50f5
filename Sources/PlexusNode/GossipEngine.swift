import Foundation
import Logging
import PlexusCore
import PlexusNet
import PlexusProtocol
import PlexusStore

/// Drives the gossip state machines of the node's topics over the mesh: HyParView keeps
/// each topic's overlay, PlumTree spreads entries along it, and every entry received is
/// verified before it is stored or forwarded. This is the IO half of PlexusProtocol/Gossip.
///
/// For now every node is in one topic, `mesh`, which carries every entry; per-topic
/// subscriptions and anti-entropy build on this (issue 4).
actor GossipEngine {
    static let meshTopic = "mesh"

    private struct Topic {
        var membership: HyParView<AgentID>
        var broadcast: PlumTree<AgentID, EntryID, Data>
    }

    private let me: AgentID
    private let mesh: ConnectionManager
    private let store: EntryStore
    private let limits: Limits
    private let logger: Logger
    private let started = ContinuousClock.now
    private var topics: [String: Topic] = [:]
    /// Where peers accept connections, as they told us.
    private var addresses: [AgentID: String] = [:]
    private var advertised = ""
    private var dialing: Set<AgentID> = []
    /// The remote IP of each connected peer, to complete addresses advertised as 0.0.0.0.
    private var peerIPs: [AgentID: String] = [:]

    init(me: AgentKey, mesh: ConnectionManager, store: EntryStore, limits: Limits, logger: Logger) {
        self.me = me.id
        self.mesh = mesh
        self.store = store
        self.limits = limits
        self.logger = logger
        var seed: UInt64 = 0
        for byte in me.id.bytes.prefix(8) { seed = seed << 8 | UInt64(byte) }
        topics[Self.meshTopic] = Topic(membership: HyParView(me: me.id, seed: seed), broadcast: PlumTree())
    }

    private var now: Duration { ContinuousClock.now - started }

    /// Runs until cancelled: consumes mesh events and ticks the state machines.
    func run(advertising address: String?) async {
        advertised = address ?? ""
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in self.mesh.events { await self.handle(event) }
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

    /// Spreads an entry this node just stored.
    func publish(_ entry: SignedEntry) async {
        let topic = Self.meshTopic
        let time = now
        // Mutated in place through the dictionary: copying a topic out would copy its caches.
        guard let actions = topics[topic]?.broadcast.broadcast(id: entry.id, payload: entry.encoded(), now: time) else { return }
        await execute(actions, topic: topic, verified: nil)  // already stored: its delivery is a no-op
    }

    // MARK: - Events

    private func handle(_ event: MeshEvent) async {
        switch event {
        case .peerUp(let peer, let ip):
            peerIPs[peer] = ip
            for name in Array(topics.keys) {
                guard let membership = topics[name]?.membership, !membership.active.contains(peer),
                      membership.active.count < membership.config.activeCapacity,
                      let actions = topics[name]?.membership.join(via: peer)
                else { continue }
                await execute(actions, topic: name)
            }
        case .peerDown(let peer):
            peerIPs.removeValue(forKey: peer)
            await failed(peer)
        case .frame(let peer, let frame):
            guard case .gossip(let gossip)? = frame.kind else { return }
            await receive(gossip, from: peer)
        }
    }

    private func tick() async {
        let time = now
        for name in Array(topics.keys) {
            let membership = topics[name]?.membership.tick(now: time) ?? []
            let broadcast = topics[name]?.broadcast.tick(now: time) ?? []
            await execute(membership, topic: name)
            await execute(broadcast, topic: name, verified: nil)
        }
    }

    private func receive(_ gossip: Plexus_Gossip, from peer: AgentID) async {
        let name = gossip.topic
        let time = now
        guard let kind = gossip.kind, let isNeighbor = topics[name]?.membership.active.contains(peer) else { return }
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
            guard let entry = try? SignedEntry(encoded: push.entry, limits: limits) else {
                logger.info("dropped an invalid pushed entry", metadata: ["peer": "\(peer.short)"])
                return
            }
            await broadcast(.gossip(id: entry.id, payload: push.entry, round: Int(push.round)), from: peer, topic: name, now: time, verified: entry)
        case .ihave(let ihave):
            guard isNeighbor else { return }
            let items = ihave.items.prefix(256).compactMap { item in
                EntryID(bytes: item.id).map { PlumTree<AgentID, EntryID, Data>.Announcement(id: $0, round: Int(item.round)) }
            }
            await broadcast(.ihave(items), from: peer, topic: name, now: time)
        case .graft(let graft):
            guard isNeighbor else { return }
            await broadcast(.graft(id: EntryID(bytes: graft.id), round: Int(graft.round)), from: peer, topic: name, now: time)
        case .prune:
            await broadcast(.prune, from: peer, topic: name, now: time)
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

    // MARK: - Actions

    private func execute(_ actions: [HyParView<AgentID>.Action], topic: String) async {
        for action in actions {
            switch action {
            case .send(let peer, let message):
                await send(membershipFrame(message, topic: topic), to: peer)
            case .neighborUp(let peer):
                topics[topic]?.broadcast.neighborUp(peer)
            case .neighborDown(let peer):
                topics[topic]?.broadcast.neighborDown(peer)
            }
        }
    }

    /// `verified` is the entry of the push being handled: the only thing a `deliver` can be.
    private func execute(_ actions: [PlumTree<AgentID, EntryID, Data>.Action], topic: String, verified: SignedEntry?) async {
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
                await send(gossip, to: peer)
            case .deliver(let id, _, _):
                // Verified before it reached the state machine; the feed rules decide the rest.
                if let verified, verified.id == id {
                    _ = try? await store.ingest(verified)
                }
            }
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
    private func send(_ gossip: Plexus_Gossip, to peer: AgentID) async {
        let frame = Plexus_Frame.with { $0.gossip = gossip }
        if await mesh.send([frame], to: peer) { return }
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
            let sent = connected ? await mesh.send([frame], to: peer) : false
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

    private func ref(_ peer: AgentID) -> Plexus_PeerRef {
        .with { $0.agent = peer.bytes.asData; $0.address = peer == me ? advertised : (addresses[peer] ?? "") }
    }

    /// Records where a peer accepts connections. A peer listening on every interface
    /// (0.0.0.0 or ::) is reached at the IP its own connection came from.
    @discardableResult
    private func remember(_ ref: Plexus_PeerRef, sender: AgentID? = nil) -> AgentID? {
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
