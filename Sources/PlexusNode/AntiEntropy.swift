import Foundation
import Metrics
import PlexusCore
import PlexusProtocol
import PlexusStore

/// `plexus_entries_sent_total{via}`: entries handed to the transport for peers, pushed by
/// gossip (`push`) or streamed by anti-entropy (`sync`).
enum EntriesSent {
    static let push = Counter(label: "plexus_entries_sent_total", dimensions: [("via", "push")])
    static let sync = Counter(label: "plexus_entries_sent_total", dimensions: [("via", "sync")])
}

/// One neighbour in one topic: the unit of anti-entropy.
struct SyncKey: Hashable {
    let peer: AgentID
    let topic: String
}

/// Anti-entropy's IO (DESIGN §6, PROTOCOL.md §8): neighbours reconcile the feed heads they
/// hold per topic with range-based set reconciliation, ask for the feeds where the other
/// offers more, and stream them oldest first under byte credit that the receiver
/// replenishes as it stores. What to ask for and where to stream from are the pure rules of
/// `FeedSync`; the streaming and the credit of each neighbour and topic are the sans-IO
/// `FeedSyncSession`. This file reads the store, sends, verifies and stores for them.
extension GossipEngine {
    static let maxWantsPerMessage = 1024
    static let maxRangesPerMessage = 256
    static let maxHeadsPerMessage = 4096

    /// Anti-entropy with every neighbour and topic, for `plexus sync`.
    func syncViews() -> [SyncView] {
        sessions.values.map(\.view).sorted { ($0.topic, $0.peer) < ($1.topic, $1.peer) }
    }

    /// Periodic work (each tick): streams that stalled on a full connection resume, and
    /// credit that went unused is granted afresh. Rounds are scheduled by the gossip state
    /// machine (`GossipState.Action.syncRound`).
    func antiEntropyTick() async {
        let now = elapsed
        for key in Array(sessions.keys) {
            guard let actions = sessions[key]?.tick(now: now), !actions.isEmpty else { continue }
            await execute(actions, for: key)
        }
    }

    /// The session with a neighbour in a topic, made on first use while this node is in
    /// the topic (nil otherwise).
    @discardableResult
    private func session(_ key: SyncKey) -> FeedSyncSession? {
        if let session = sessions[key] { return session }
        guard state.isIn(key.topic) else { return nil }
        var config = FeedSyncSession.Config()
        config.regrantAfter = syncInterval * 2
        sessionEpoch += 1
        let session = FeedSyncSession(peer: key.peer, topic: key.topic, config: config, epoch: sessionEpoch, now: elapsed)
        sessions[key] = session
        return session
    }

    /// Carries out what a session asks.
    private func execute(_ actions: [FeedSyncSession.Action], for key: SyncKey) async {
        for action in actions {
            switch action {
            case .read(let want, let after, let limit):
                let store = self.store
                guard let epoch = sessions[key]?.epoch else { continue }
                Task {
                    let result = await Self.read(want, after: after, limit: limit, topic: key.topic, from: store)
                    await self.rowsRead(result, for: key, epoch: epoch)
                }
            case .sendBatch(let entries):
                let frame = Plexus_Frame.with { $0.gossip = Self.gossip(key.topic) { $0.batch = .with { $0.entries = entries } } }
                let sent = mesh.send([frame], to: key.peer)
                if sent { EntriesSent.sync.increment(by: entries.count) }
                guard let next = sessions[key]?.batchSent(sent) else { continue }
                await execute(next, for: key)
            case .grant(let bytes):
                await send(Self.gossip(key.topic) { $0.credit = UInt32(clamping: bytes) }, to: key.peer)
            }
        }
    }

    /// Where streaming a want starts and the rows after it, or the store's error.
    private static func read(
        _ want: FeedSync.Want, after: UInt64?, limit: Int, topic: String, from store: EntryStore
    ) async -> Result<(after: UInt64, rows: [(seq: UInt64, encoded: Data)]), PlexusError> {
        do {
            let start: UInt64
            if let after {
                start = after
            } else {
                let offered = try await store.offeredCount(author: want.author, topic: topic, from: want.from, through: want.seq)
                start = FeedSync.streamAfter(want, offeredInRange: offered)
            }
            return .success((start, try await store.encodedEntries(author: want.author, topic: topic, after: start, limit: limit)))
        } catch {
            return .failure(error)
        }
    }

    private func rowsRead(
        _ result: Result<(after: UInt64, rows: [(seq: UInt64, encoded: Data)]), PlexusError>, for key: SyncKey, epoch: UInt64
    ) async {
        // A session made since (the neighbour reconnected) is not this read's.
        guard sessions[key]?.epoch == epoch else { return }
        switch result {
        case .success(let read):
            guard let actions = sessions[key]?.rowsRead(after: read.after, rows: read.rows) else { return }
            await execute(actions, for: key)
        case .failure(let error):
            // The next tick tries again.
            logger.error("cannot read entries to stream", metadata: ["topic": "\(key.topic)", "error": "\(error)"])
            sessions[key]?.readFailed()
        }
    }

    /// An anti-entropy message the state machine passed on (the node is in its topic).
    func receiveAntiEntropy(_ gossip: Plexus_Gossip, from peer: AgentID) async {
        switch gossip.kind {
        case .sync(let ranges): await receiveRanges(ranges, from: peer, topic: gossip.topic)
        case .wants(let wants): await receiveWants(wants, from: peer, topic: gossip.topic)
        case .batch(let batch): await receiveBatch(batch, from: peer, topic: gossip.topic)
        case .credit(let bytes): await receiveCredit(Int(bytes), from: peer, topic: gossip.topic)
        default: break
        }
    }

    /// A new neighbour in a topic is reconciled with at once. One side opens the round
    /// (the smaller id); both learn what the other holds from it.
    func neighborJoined(_ peer: AgentID, topic: String) async {
        if me < peer { await startRound(with: peer, topic: topic) }
    }

    func startRound(with peer: AgentID, topic: String) async {
        guard let local = await localHeads(topic) else { return }
        let ranges = HeadsReconciliation.start(local: local)
        let key = SyncKey(peer: peer, topic: topic)
        session(key)
        sessions[key]?.roundOpened(atMs: wallClock())
        await send(Self.gossip(topic) { $0.sync = HeadsReconciliation.wire(ranges) }, to: peer)
    }

    // MARK: - Reconciliation

    func receiveRanges(_ message: Plexus_SyncRanges, from peer: AgentID, topic: String) async {
        guard message.ranges.count <= Self.maxRangesPerMessage,
              message.ranges.reduce(0, { $0 + $1.heads.count }) <= Self.maxHeadsPerMessage,
              let ranges = HeadsReconciliation.ranges(from: message)
        else {
            await misbehaved(peer, "sent a malformed reconciliation message")
            return
        }
        guard let local = await localHeads(topic) else { return }
        let (reply, learned) = HeadsReconciliation.respond(to: ranges, local: local)
        for page in HeadsReconciliation.pages(reply) {
            await send(Self.gossip(topic) { $0.sync = HeadsReconciliation.wire(page) }, to: peer)
        }
        guard state.isIn(topic) else { return }
        let key = SyncKey(peer: peer, topic: topic)
        if HeadsReconciliation.opensRound(ranges) {
            session(key)
            sessions[key]?.roundOpened(atMs: wallClock())
        }
        let wants = await wants(for: learned.filter { stores($0.author) }, topic: topic)
        guard !wants.isEmpty else { return }
        for start in stride(from: 0, to: wants.count, by: Self.maxWantsPerMessage) {
            let chunk = wants[start..<min(start + Self.maxWantsPerMessage, wants.count)]
            await send(Self.gossip(topic) { gossip in
                gossip.wants = .with { message in
                    message.wants = chunk.map { want in
                        .with { $0.author = want.author.bytes.asData; $0.seq = want.seq; $0.count = want.count; $0.from = want.from }
                    }
                }
            }, to: peer)
        }
        session(key)
        guard let grant = sessions[key]?.wantsSent(wants.count, now: elapsed) else { return }
        await execute(grant, for: key)
    }

    /// The wants for heads a neighbour revealed: only feeds where it offers something this
    /// node neither holds nor has tombstoned (`FeedSync.want`).
    private func wants(for learned: [HeadsReconciliation.Head], topic: String) async -> [FeedSync.Want] {
        guard !learned.isEmpty else { return [] }
        let accounting: [AgentID: FeedAccounting]
        do {
            accounting = try await store.accounting(topic: topic, of: learned.map { ($0.author, $0.from, $0.seq) })
        } catch {
            logger.error("cannot read what is held of feeds", metadata: ["topic": "\(topic)", "error": "\(error)"])
            return []
        }
        return learned.compactMap { head in
            guard let held = accounting[head.author] else { return nil }  // forked here
            return FeedSync.want(for: head, accounting: FeedSync.Accounting(maxSeq: held.maxSeq, countInRange: held.countInRange, retainedFrom: held.retainedFrom))
        }
    }

    private func localHeads(_ topic: String) async -> [HeadsReconciliation.Head]? {
        do {
            return try await store.topicHeads(topic).map {
                HeadsReconciliation.Head(author: $0.author, seq: $0.maxSeq, count: $0.count, from: $0.minSeq)
            }
        } catch {
            logger.error("cannot read feed heads", metadata: ["topic": "\(topic)", "error": "\(error)"])
            return nil
        }
    }

    // MARK: - Sending side

    func receiveWants(_ message: Plexus_SyncWants, from peer: AgentID, topic: String) async {
        guard state.isIn(topic) else { return }
        guard message.wants.count <= Self.maxWantsPerMessage else {
            await misbehaved(peer, "asked for more than \(Self.maxWantsPerMessage) feeds at once")
            return
        }
        let wants = message.wants.compactMap { want in
            AgentID(bytes: want.author).map { FeedSync.Want(author: $0, from: want.from, seq: want.seq, count: want.count) }
        }
        let key = SyncKey(peer: peer, topic: topic)
        session(key)
        guard let (_, actions) = sessions[key]?.receiveWants(wants) else { return }
        await execute(actions, for: key)
    }

    func receiveCredit(_ bytes: Int, from peer: AgentID, topic: String) async {
        guard state.isIn(topic) else { return }
        let key = SyncKey(peer: peer, topic: topic)
        session(key)
        guard let actions = sessions[key]?.receiveCredit(bytes) else { return }
        await execute(actions, for: key)
    }

    // MARK: - Receiving side

    func receiveBatch(_ batch: Plexus_SyncBatch, from peer: AgentID, topic: String) async {
        guard state.isIn(topic) else { return }
        let key = SyncKey(peer: peer, topic: topic)
        guard let epoch = session(key)?.epoch else { return }
        let bytes = batch.entries.reduce(0) { $0 + $1.count }
        switch sessions[key]?.batchArrived(bytes: bytes, now: elapsed) {
        case .accepted?:
            break
        case .overCredit?:
            await misbehaved(peer, "streamed entries beyond its credit")
            return
        case .busy?, nil:
            return
        }
        let limits = self.limits
        Task {
            let (unheld, held) = await self.unheld(batch.entries)
            let (entries, invalid) = await Self.verify(unheld, limits: limits)
            await self.store(entries, invalid: invalid, held: held, bytes: bytes, for: key, epoch: epoch)
        }
    }

    /// The streamed entries not held here yet, and how many were. Copies of held (or
    /// tombstoned) entries are neither verified nor stored again: gossip often brings an
    /// entry while a round that asked for it is under way, and several neighbours may
    /// stream the same ones. If the store cannot say, every entry is verified.
    private nonisolated func unheld(_ encoded: [Data]) async -> (unheld: [Data], held: Int) {
        let ids = encoded.map(SignedEntry.id(ofEncoded:))
        let known: Set<EntryID>
        do {
            known = try await store.known(ids.compactMap { $0 })
        } catch {
            logger.warning("reading which streamed entries are held failed", metadata: ["error": "\(error)"])
            return (encoded, 0)
        }
        let unheld = zip(encoded, ids).filter { _, id in id.map { !known.contains($0) } ?? true }.map(\.0)
        return (unheld, encoded.count - unheld.count)
    }

    /// `held` entries of the batch were skipped as held already; they count as received.
    private func store(_ entries: [SignedEntry], invalid: Int, held: Int, bytes: Int, for key: SyncKey, epoch: UInt64) async {
        var invalid = invalid
        var wanted: [SignedEntry] = []
        for entry in entries {
            if TopicName.replication(of: entry.topic) != key.topic {
                invalid += 1
            } else if stores(entry.author) {
                wanted.append(entry)
            }
        }
        // Entries signed since this node joined the topic repair lost pushes (live); older
        // ones are history.
        let joined = state.joinedMs(key.topic) ?? .max
        let repaired = wanted.filter { $0.timeMs >= joined }
        let history = wanted.filter { $0.timeMs < joined }
        do {
            _ = try await store.ingest(contentsOf: history, arrival: .synced)
            _ = try await store.ingest(contentsOf: repaired, arrival: .repaired)
        } catch {
            logger.warning("storing streamed entries failed", metadata: ["error": "\(error)"])
        }
        if invalid > 0 { await misbehaved(key.peer, "streamed \(invalid) invalid entries or entries of another topic") }
        guard sessions[key]?.epoch == epoch,
              let actions = sessions[key]?.batchStored(bytes: bytes, stored: wanted.count + held, now: elapsed)
        else { return }
        await execute(actions, for: key)
    }

    /// Verifies streamed entries on every core.
    private nonisolated static func verify(_ encoded: [Data], limits: Limits) async -> (entries: [SignedEntry], invalid: Int) {
        let parts = max(1, min(ProcessInfo.processInfo.activeProcessorCount, encoded.count / 32))
        let size = (encoded.count + parts - 1) / max(parts, 1)
        let results = await withTaskGroup(of: (Int, [SignedEntry]).self) { group in
            for part in 0..<parts {
                let slice = encoded[min(part * size, encoded.count)..<min((part + 1) * size, encoded.count)]
                group.addTask { (part, slice.compactMap { try? SignedEntry(encoded: $0, limits: limits) }) }
            }
            var results = [[SignedEntry]](repeating: [], count: parts)
            for await (part, entries) in group { results[part] = entries }
            return results
        }
        let entries = results.flatMap { $0 }
        return (entries, encoded.count - entries.count)
    }

    // MARK: - Wire form

    static func gossip(_ topic: String, _ fill: (inout Plexus_Gossip) -> Void) -> Plexus_Gossip {
        var gossip = Plexus_Gossip()
        gossip.topic = topic
        fill(&gossip)
        return gossip
    }
}
