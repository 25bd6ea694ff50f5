import Foundation
import PlexusCore
import PlexusStore

/// The agent directory (DESIGN §7): each agent announces a signed record as an `announce`
/// entry in the mesh topic, expiring after three announcement intervals, so gossip spreads
/// it to every node and the store forgets it when it lapses. The directory is each agent's
/// latest unexpired record; presence comes from its age and the status it reports.
extension Node {
    /// Publishes this agent's record now.
    @discardableResult
    public func announce() async throws(PlexusError) -> StoredEntry {
        let settings = config.agent
        let relays = await mesh.peers().compactMap(\.agentID).prefix(Self.maxRelaysAnnounced)
        let status = await inbox.isBusy ? "busy" : "online"
        let record = settings.record(
            addresses: meshAddress.map { [$0] } ?? [], relays: Array(relays), status: status, certificate: try settings.userCertificate())
        let content: JSONValue
        do {
            content = try JSONValue(parsing: try JSONEncoder.compact.encode(record))
        } catch let error as PlexusError {
            throw error
        } catch {
            throw PlexusError(.internal, "cannot encode the agent record: \(error)")
        }
        let request = PublishRequest(
            type: AgentRecord.entryType, content: content, ttlSeconds: UInt64(settings.announceIntervalS * 3))
        let stored = try await publish(request)
        // Also into the DHT, under the agent and each capability, for nodes gossip missed.
        let keys = [DHTService.key(of: id)] + (settings.skills + settings.tools).map { DHTService.key(ofCapability: $0) }
        let encoded = stored.entry.encoded()
        Task { await dht.publish(encoded, under: keys) }
        return stored
    }

    /// Agents whose latest record matches `query`, most recently announced first: the
    /// records held here, and with a capability, the providers the DHT knows.
    public nonisolated func agents(_ query: AgentQuery = AgentQuery()) async throws(PlexusError) -> [AgentView] {
        try await Self.agents(query, in: store, dht: dht)
    }

    /// One agent's directory entry: held here, else looked up in the DHT; `notFound` when
    /// no unexpired record is found.
    public nonisolated func agent(_ id: AgentID) async throws(PlexusError) -> AgentView {
        try await Self.agent(id, in: store, dht: dht)
    }

    static func agents(_ query: AgentQuery, in store: EntryStore, dht: DHTService) async throws(PlexusError) -> [AgentView] {
        let now = EntryStore.wallClockMs()
        var latest = try await store.latestPerAuthor(type: AgentRecord.entryType, nowMs: now).map(\.entry)
        if let capability = query.capability {
            let held = Set(latest.map(\.author))
            let found = await dht.find(DHTService.key(ofCapability: capability)).compactMap { DHTService.validRecord($0, limits: .standard) }
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
                let parts = label.split(separator: "=", maxSplits: 1).map(String.init)
                let value = view.record.labels[parts[0]]
                if value == nil || (parts.count == 2 && value != parts[1]) { return false }
            }
            return true
        }
    }

    static func agent(_ id: AgentID, in store: EntryStore, dht: DHTService) async throws(PlexusError) -> AgentView {
        let now = EntryStore.wallClockMs()
        if let latest = try await store.latestPerAuthor(type: AgentRecord.entryType, nowMs: now, author: id).first,
           let view = Self.view(of: latest.entry, nowMs: now) {
            return view
        }
        let found = await dht.find(DHTService.key(of: id)).compactMap { DHTService.validRecord($0, limits: .standard) }
        guard let newest = Self.newestPerAuthor(found.filter { $0.author == id }).first, let view = Self.view(of: newest, nowMs: now) else {
            throw PlexusError(.notFound, "no current record of agent \(id) here or in the DHT (it has not announced itself, or its record expired)")
        }
        return view
    }

    /// The highest-seq entry of each author.
    static func newestPerAuthor(_ entries: [SignedEntry]) -> [SignedEntry] {
        var newest: [AgentID: SignedEntry] = [:]
        for entry in entries where (newest[entry.author]?.seq ?? 0) < entry.seq { newest[entry.author] = entry }
        return Array(newest.values)
    }

    /// Connected peers named as relays in a record.
    static let maxRelaysAnnounced = 8

    /// Announces now and then every interval (and when the agent turns busy or idle), until
    /// cancelled. A failed announcement is logged and tried again at the next interval. A node with bootstrap peers waits (up to
    /// 5 s) for the first connection, so its first record can name relays.
    func runAnnouncements() async {
        let interval = Duration.seconds(config.agent.announceIntervalS)
        if !config.peers.isEmpty {
            let deadline = ContinuousClock.now + .seconds(5)
            while await mesh.peers().isEmpty, ContinuousClock.now < deadline, !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        // Checked every few seconds: a change between online and busy is announced then,
        // rather than at the next interval.
        let check = min(interval, .seconds(5))
        var announcedBusy: Bool?
        var next = ContinuousClock.now
        while !Task.isCancelled {
            let busy = await inbox.isBusy
            if ContinuousClock.now >= next || busy != announcedBusy {
                do {
                    try await announce()
                    announcedBusy = busy
                } catch {
                    logger.warning("announcement failed", metadata: ["error": "\(error)"])
                }
                next = ContinuousClock.now + interval
            }
            try? await Task.sleep(for: check)
        }
    }

    /// A record's view, or nil when the content is not a record (then the agent is not listed).
    static func view(of entry: SignedEntry, nowMs: Int64) -> AgentView? {
        guard let record = try? JSONDecoder().decode(AgentRecord.self, from: entry.content) else { return nil }
        let age = nowMs - entry.timeMs
        let presence: AgentView.Presence =
            age > Int64(record.intervalS) * 2000 ? .stale : (record.status == "busy" ? .busy : .online)
        var view = AgentView(
            agentID: entry.author, record: record, presence: presence, announcedMs: entry.timeMs,
            expiresMs: entry.expiresMs.map { Int64(clamping: $0) }, entryID: entry.id)
        if let certificate = record.userCertificate, certificate.isValid(for: entry.author, nowMs: nowMs) {
            view.verifiedUser = certificate.user
        }
        return view
    }
}
