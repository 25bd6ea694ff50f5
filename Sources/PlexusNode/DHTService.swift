import Foundation
import Logging
import PlexusCore
import PlexusNet
import PlexusProtocol

/// A peer as the DHT knows it: an agent and where it listens (equal by agent).
struct DHTPeer: Hashable, Sendable {
    let agent: AgentID
    let address: String

    static func == (lhs: DHTPeer, rhs: DHTPeer) -> Bool { lhs.agent == rhs.agent }
    func hash(into hasher: inout Hasher) { hasher.combine(agent) }
}

/// The Kademlia DHT on the mesh (DESIGN §7, PROTOCOL.md §11): drives `RoutingTable` and
/// `DHTLookup` over `Dht` frames, and keeps the values stored here. Values are agents'
/// signed records (`SignedRecord` of kind agent, the same bytes gossip carries), under the
/// agent's key and under each capability it offers,
/// so `find_agent` and `find_providers` work beyond the agents whose records gossip brought.
actor DHTService {
    typealias Contact = RoutingTable<DHTPeer>.Contact

    static let k = 20
    static let alpha = 3
    /// How long one query waits for its answer (a busy peer on a loaded machine was seen
    /// to take more than 2 s).
    static let queryTimeout = Duration.seconds(4)
    /// Longest a whole lookup takes: no new round of queries starts after it, so a task to
    /// an agent nobody knows fails with `noRoute` within seconds.
    static let lookupBudget = Duration.seconds(5)
    /// Keys held, and values per key, at most.
    static let maxKeys = 10_000
    static let maxValuesPerKey = 20

    private let me: AgentID
    private nonisolated let clock: NodeClock
    private let meKey: DHTKey
    private let mesh: ConnectionManager
    private let logger: Logger
    private var advertised = ""
    private var table: RoutingTable<DHTPeer>
    /// Per key, each author's newest record.
    private var values: [DHTKey: [AgentID: SignedRecord]] = [:]
    private var pending: [UInt64: CheckedContinuation<Plexus_DhtReply?, Never>] = [:]
    private var nextRequest: UInt64 = 1
    private var greeted: Set<AgentID> = []

    init(me: AgentID, clock: NodeClock, mesh: ConnectionManager, logger: Logger) {
        self.me = me
        self.clock = clock
        self.meKey = Self.key(of: me)
        self.mesh = mesh
        self.logger = logger
        table = RoutingTable(me: meKey, k: Self.k)
    }

    /// Where an agent's record is stored.
    static func key(of agent: AgentID) -> DHTKey { DHTKey(hashing: agent.bytes, domain: "plexus-dht-agent:") }
    /// Where the records of agents offering a capability are stored.
    static func key(ofCapability name: String) -> DHTKey { DHTKey(hashing: Array(name.lowercased().utf8), domain: "plexus-dht-capability:") }

    func setAdvertised(_ address: String?) { advertised = address ?? "" }

    // MARK: - Running

    /// Greets newly connected peers with a lookup of our own key (which teaches both sides),
    /// every second until cancelled.
    func run() async {
        while !Task.isCancelled {
            let connected = await mesh.peers().compactMap(\.agentID)
            greeted.formIntersection(connected)
            for peer in connected where !greeted.contains(peer) {
                greeted.insert(peer)
                if let reply = await query(peer, address: nil, .findNode(Data(meKey.bytes))) {
                    learn(reply.closer)
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// A frame from a peer: a question to answer, or an answer we wait for.
    func receive(_ message: Plexus_Dht, from peer: AgentID) async {
        if message.hasSender, AgentID(bytes: message.sender.agentID) == peer {
            table.observe(Contact(key: Self.key(of: peer), peer: DHTPeer(agent: peer, address: message.sender.address)))
        }
        switch message.kind {
        case .reply(let reply)?:
            pending.removeValue(forKey: message.request)?.resume(returning: reply)
        case .findNode(let key)?:
            guard let target = DHTKey(bytes: key) else { return }
            await answer(message.request, to: peer, closer: closest(to: target, excluding: peer), values: [])
        case .findValue(let key)?:
            guard let target = DHTKey(bytes: key) else { return }
            let held = liveValues(target)
            await answer(message.request, to: peer, closer: held.isEmpty ? closest(to: target, excluding: peer) : [], values: held)
        case .store(let store)?:
            if let key = DHTKey(bytes: store.key) { keep(store.value, under: key) }
            await answer(message.request, to: peer, closer: [], values: [])
        case nil:
            break
        }
    }

    // MARK: - Lookups

    /// Stores a signed agent record under `keys`, at the k closest nodes of each, and at the
    /// peers connected here (those a lookup started from here asks first, so a record stored
    /// while a slow peer's answer timed out is still found through it).
    func publish(_ encoded: Data, under keys: [DHTKey]) async {
        for key in keys {
            keep(encoded, under: key)
            var holders = await lookup(key, wantsValue: false).closest
            let chosen = Set(holders.map(\.peer.agent))
            for peer in mesh.connectedPeers().prefix(Self.k) where peer != me && !chosen.contains(peer) {
                holders.append(Contact(key: Self.key(of: peer), peer: DHTPeer(agent: peer, address: "")))
            }
            for holder in holders {
                _ = await query(holder.peer.agent, address: holder.peer.address, .store(.with { $0.key = Data(key.bytes); $0.value = encoded }))
            }
        }
    }

    /// The values stored under `key`: here, or found by a lookup.
    func find(_ key: DHTKey) async -> [Data] {
        let held = liveValues(key)
        if !held.isEmpty { return held }
        return await lookup(key, wantsValue: true).values
    }

    private func lookup(_ target: DHTKey, wantsValue: Bool) async -> (closest: [Contact], values: [Data]) {
        // Seeds: the closest contacts known, and the peers connected now (a node that just
        // joined has not heard of any contact through the DHT yet, but can ask its peers).
        var seeds = table.closest(to: target, count: Self.k)
        let known = Set(seeds.map(\.peer.agent))
        for peer in mesh.connectedPeers() where peer != me && !known.contains(peer) {
            seeds.append(Contact(key: Self.key(of: peer), peer: DHTPeer(agent: peer, address: "")))
        }
        var lookup = DHTLookup<DHTPeer>(
            target: target, seeds: seeds, k: Self.k, alpha: Self.alpha,
            wantsValue: wantsValue, exclude: DHTPeer(agent: me, address: ""))
        var found: [Data] = []
        let deadline = ContinuousClock.now + Self.lookupBudget
        while !lookup.isFinished, ContinuousClock.now < deadline {
            let batch = lookup.nextQueries()
            if batch.isEmpty { break }
            let kind: Plexus_Dht.OneOf_Kind = wantsValue ? .findValue(Data(target.bytes)) : .findNode(Data(target.bytes))
            let replies = await withTaskGroup(of: (Contact, Plexus_DhtReply?).self) { group in
                for contact in batch {
                    group.addTask { (contact, await self.query(contact.peer.agent, address: contact.peer.address, kind)) }
                }
                var collected: [(Contact, Plexus_DhtReply?)] = []
                for await item in group { collected.append(item) }
                return collected
            }
            for (contact, reply) in replies {
                guard let reply else {
                    lookup.failed(contact)
                    table.remove(contact)
                    continue
                }
                let closer = learn(reply.closer)
                let valid = reply.values.filter { validRecord($0) != nil }
                if !valid.isEmpty { found = valid }
                lookup.answered(by: contact, closer: closer, value: valid.first.map { Array($0) })
            }
        }
        return (lookup.closest, found)
    }

    /// Sends one query and waits for its answer (nil: unreachable or no answer in time).
    private func query(_ peer: AgentID, address: String?, _ kind: Plexus_Dht.OneOf_Kind) async -> Plexus_DhtReply? {
        guard peer != me else { return nil }
        let request = nextRequest
        nextRequest &+= 1
        var message = Plexus_Dht()
        message.request = request
        message.sender = .with { $0.agentID = me.bytes.asData; $0.address = advertised }
        message.kind = kind
        let frame = Plexus_Frame.with { $0.dht = message }
        // The time limit covers dialling too: a contact that is slow to answer the dial
        // costs no more than one that is slow to answer the query.
        let timeout = Task {
            try? await Task.sleep(for: Self.queryTimeout)
            self.expire(request)
        }
        defer { timeout.cancel() }
        let mesh = self.mesh
        return await withCheckedContinuation { continuation in
            pending[request] = continuation
            Task {
                if await !Self.deliver(frame, to: peer, address: address, over: mesh) { self.expire(request) }
            }
        }
    }

    /// Sends over a connection, dialling the contact's address when there is none.
    private static func deliver(_ frame: Plexus_Frame, to peer: AgentID, address: String?, over mesh: ConnectionManager) async -> Bool {
        if await mesh.sendWaiting([frame], to: peer) { return true }
        guard let address, !address.isEmpty, let target = try? HostPort.parse(address, defaultHost: "127.0.0.1"), target.host != "0.0.0.0",
              (try? await mesh.connect(host: target.host, port: target.port, expectedPeer: peer)) != nil
        else { return false }
        return await mesh.sendWaiting([frame], to: peer)
    }

    private func expire(_ request: UInt64) {
        pending.removeValue(forKey: request)?.resume(returning: nil)
    }

    private func answer(_ request: UInt64, to peer: AgentID, closer: [Contact], values: [Data]) async {
        var message = Plexus_Dht()
        message.request = request
        message.sender = .with { $0.agentID = me.bytes.asData; $0.address = advertised }
        message.reply = .with {
            $0.closer = closer.map { contact in .with { $0.agentID = contact.peer.agent.bytes.asData; $0.address = contact.peer.address } }
            $0.values = values
        }
        _ = await mesh.sendWaiting([Plexus_Frame.with { $0.dht = message }], to: peer)
    }

    // MARK: - Table and values

    /// Adds contacts from an answer to the table (at most k per answer); returns them.
    @discardableResult
    private func learn(_ contacts: [Plexus_DhtContact]) -> [Contact] {
        contacts.prefix(Self.k).compactMap { contact in
            guard let agent = AgentID(bytes: contact.agentID), agent != me, contact.address.utf8.count <= 256 else { return nil }
            let known = Contact(key: Self.key(of: agent), peer: DHTPeer(agent: agent, address: contact.address))
            table.observe(known)
            return known
        }
    }

    private func closest(to key: DHTKey, excluding peer: AgentID) -> [Contact] {
        table.closest(to: key, count: Self.k + 1).filter { $0.peer.agent != peer }.prefix(Self.k).map { $0 }
    }

    /// Keeps a value if it is a valid, unexpired agent record (bounded per key and overall).
    private func keep(_ encoded: Data, under key: DHTKey) {
        guard let record = validRecord(encoded) else { return }
        guard values[key] != nil || values.count < Self.maxKeys else { return }
        var held = values[key] ?? [:]
        if let old = held[record.author], !record.supersedes(old) { return }
        held[record.author] = record
        if held.count > Self.maxValuesPerKey, let oldest = held.min(by: { $0.value.expiresMs < $1.value.expiresMs })?.key {
            held.removeValue(forKey: oldest)
        }
        values[key] = held
    }

    private func liveValues(_ key: DHTKey) -> [Data] {
        let now = clock.nowMs
        return (values[key] ?? [:]).values.filter { $0.expiresMs > now }.map { $0.encoded() }
    }

    /// A signed, unexpired agent record, or nil.
    nonisolated func validRecord(_ encoded: Data) -> SignedRecord? {
        guard let record = try? SignedRecord(encoded: encoded), record.kind == .agent,
              record.expiresMs > clock.nowMs
        else { return nil }
        return record
    }
}
