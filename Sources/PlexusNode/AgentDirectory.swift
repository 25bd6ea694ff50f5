import Foundation
import PlexusCore

/// The agent directory (DESIGN §7): each agent signs a record (`SignedRecord` of kind
/// agent, soft state: no seq, in no feed) at start and every announcement interval, living
/// three intervals. Gossip carries it to every node of the mesh (SoftStateGossip.swift) and
/// the DHT keeps the same bytes under the agent and each capability. The directory is each
/// agent's latest unexpired record; presence comes from its age and the status it reports.
extension Node {
    /// Signs this agent's record now and spreads it.
    @discardableResult
    public func announce() async throws(PlexusError) -> AgentView {
        let settings = config.agent
        let relays = await mesh.peers().compactMap(\.agentID).prefix(Self.maxRelaysAnnounced)
        let status = await inbox.isBusy ? "busy" : "online"
        var agentRecord = settings.record(
            addresses: meshAddress.map { [$0] } ?? [], relays: Array(relays), status: status, certificate: try settings.userCertificate(),
            served: await inbox.servedCapabilities())
        agentRecord.exchangeKey = ExchangeKeyView(ExchangeKey.binding(of: key))
        let content: Data
        do {
            content = try JSONEncoder.compact.encode(agentRecord)
        } catch {
            throw PlexusError(.internal, "cannot encode the agent record: \(error)")
        }
        let now = clock.nowMs
        let record = try SignedRecord(
            signing: content, kind: .agent, timeMs: now, expiresMs: now + Int64(settings.announceIntervalS) * 3000, with: key)
        await gossip.publishRecord(record)
        // Also into the DHT, under the agent and each capability, for nodes gossip missed.
        let capabilities = agentRecord.capabilities.skills + agentRecord.capabilities.tools
        // And under the blobs added here most recently, as their holder.
        let blobs = (try? await store.blobs.list(limit: Self.blobsProvidedPerAnnouncement, offset: 0)) ?? []
        let keys = [DHTService.key(of: id)] + capabilities.map { DHTService.key(ofCapability: $0) } + blobs.map { Self.dhtKey(ofBlob: $0.id) }
        let encoded = record.encoded()
        Task { await dht.publish(encoded, under: keys) }
        guard let view = Self.view(of: record, nowMs: now) else {
            throw PlexusError(.internal, "the agent record just signed does not read back")
        }
        return view
    }

    /// Agents whose latest record matches `query`, most recently announced first: the
    /// records held here, and with a capability, the providers the DHT knows.
    public nonisolated func agents(_ query: AgentQuery = AgentQuery()) async throws(PlexusError) -> [AgentView] {
        await Self.agents(query, in: gossip, dht: dht, nowMs: clock.nowMs)
    }

    /// One agent's directory entry: held here, else looked up in the DHT; `notFound` when
    /// no unexpired record is found.
    public nonisolated func agent(_ id: AgentID) async throws(PlexusError) -> AgentView {
        try await Self.agent(id, in: gossip, dht: dht, nowMs: clock.nowMs)
    }

    static func agents(_ query: AgentQuery, in gossip: GossipEngine, dht: DHTService, nowMs now: Int64) async -> [AgentView] {
        var latest = await gossip.records(of: .agent)
        if let capability = query.capability {
            let held = Set(latest.map(\.author))
            let found = await dht.find(DHTService.key(ofCapability: capability)).compactMap { dht.validRecord($0) }
            latest += Self.newestPerAuthor(found).filter { !held.contains($0.author) }
        }
        return latest.compactMap { Self.view(of: $0, nowMs: now) }.filter { view in
            if let capability = query.capability, !view.record.offers(capability) { return false }
            if let user = query.user {
                // An agent id asks for a certified user; anything else matches the claimed name.
                if let userID = try? AgentID.parse(user) {
                    if view.verifiedUser != userID { return false }
                } else if view.record.user?.lowercased() != user.lowercased() {
                    return false
                }
            }
            if let label = query.label {
                // "key" or "key=value"; "=" names no label.
                let parts = label.split(separator: "=", maxSplits: 1).map(String.init)
                guard let key = parts.first else { return false }
                let value = view.record.labels[key]
                if value == nil || (parts.count == 2 && value != parts[1]) { return false }
            }
            return true
        }
    }

    static func agent(_ id: AgentID, in gossip: GossipEngine, dht: DHTService, nowMs now: Int64) async throws(PlexusError) -> AgentView {
        if let held = await gossip.record(of: id, kind: .agent), let view = Self.view(of: held, nowMs: now) {
            return view
        }
        let found = await dht.find(DHTService.key(of: id)).compactMap { dht.validRecord($0) }
        guard let newest = Self.newestPerAuthor(found.filter { $0.author == id }).first, let view = Self.view(of: newest, nowMs: now) else {
            throw PlexusError(.notFound, "no current record of agent \(id) here or in the DHT (it has not announced itself, or its record expired)")
        }
        return view
    }

    /// The newest record of each author.
    static func newestPerAuthor(_ records: [SignedRecord]) -> [SignedRecord] {
        var newest: [AgentID: SignedRecord] = [:]
        for record in records where newest[record.author].map({ record.supersedes($0) }) ?? true { newest[record.author] = record }
        return Array(newest.values)
    }

    /// Blobs held here announced in the DHT per announcement (the most recently added).
    static let blobsProvidedPerAnnouncement = 32

    /// Connected peers named as relays in a record.
    static let maxRelaysAnnounced = 8

    /// Announces now and then every interval, and within a second when the agent turns busy
    /// or idle or a capability comes or goes (a local worker polls for a new one, or none
    /// has polled for one for `WorkerTasks.pollerMemoryMs`), until cancelled. A failed
    /// announcement is logged and tried again at the next interval. A node with bootstrap
    /// peers waits (up to 5 s) for the first connection, so its first record can name relays.
    func runAnnouncements() async {
        let interval = Duration.seconds(config.agent.announceIntervalS)
        if !config.peers.isEmpty {
            let deadline = ContinuousClock.now + .seconds(5)
            while await mesh.peers().isEmpty, ContinuousClock.now < deadline, !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        // Checked every second: a change is announced then, rather than at the next interval.
        let check = min(interval, .seconds(1))
        var announced: (busy: Bool, served: [String])?
        var next = ContinuousClock.now
        while !Task.isCancelled {
            let current = (busy: await inbox.isBusy, served: await inbox.servedCapabilities())
            if ContinuousClock.now >= next || current.busy != announced?.busy || current.served != announced?.served {
                do {
                    try await announce()
                    announced = current
                } catch {
                    logger.warning("announcement failed", metadata: ["error": "\(error)"])
                }
                next = ContinuousClock.now + interval
            }
            try? await Task.sleep(for: check)
        }
    }

    /// A record's view, or nil when the content is not an agent record (then the agent is
    /// not listed).
    static func view(of signed: SignedRecord, nowMs: Int64) -> AgentView? {
        guard let record = try? JSONDecoder().decode(AgentRecord.self, from: signed.content) else { return nil }
        let age = nowMs - signed.timeMs
        // Stale after two announce intervals; the interval is the author's to choose.
        let staleAfterMs = min(max(Int64(clamping: record.intervalS), 0), Int64.max / 2000) * 2000
        let presence: AgentView.Presence = age > staleAfterMs ? .stale : (record.status == "busy" ? .busy : .online)
        var view = AgentView(
            agentID: signed.author, record: record, presence: presence, announcedMs: signed.timeMs,
            expiresMs: signed.expiresMs, recordID: signed.id)
        if let certificate = record.userCertificate, certificate.isValid(for: signed.author, nowMs: nowMs) {
            view.verifiedUser = certificate.user
        }
        return view
    }
}
