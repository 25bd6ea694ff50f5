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

/// Anti-entropy with one neighbour in one topic: the feeds it asked us to stream, the
/// credit each side holds, and the counters `plexus sync` shows.
struct SyncSession {
    /// A feed the neighbour asked for, with what it accounts for of it.
    struct Want {
        let want: FeedSync.Want
        /// Where streaming continues; nil until the starting point is worked out.
        var after: UInt64?

        var author: AgentID { want.author }
    }

    var view: SyncView
    /// Wants in arrival order from `next` on (the consumed front is trimmed in batches).
    private(set) var wants: [Want] = []
    private var next = 0
    private var queued: Set<AgentID> = []
    var pumping = false
    /// Bytes of received batches still being verified and stored.
    var processingBytes = 0
    var batchesInFlight = 0
    /// When the neighbour last streamed to us or was granted credit.
    var lastStreamed: Duration = .zero

    init(_ key: SyncKey) {
        view = SyncView(peer: key.peer, topic: key.topic)
    }

    var pending: Int { wants.count - next }
    var front: Want? { next < wants.count ? wants[next] : nil }

    /// Queues a want unless one for the author is queued already; false when full.
    mutating func enqueue(_ want: Want, limit: Int) -> Bool {
        guard pending < limit else { return false }
        if queued.insert(want.author).inserted { wants.append(want) }
        view.sending = pending
        return true
    }

    mutating func advanceFront(to seq: UInt64) {
        if next < wants.count { wants[next].after = seq }
    }

    mutating func popFront() {
        guard next < wants.count else { return }
        queued.remove(wants[next].author)
        next += 1
        if next >= 1024 && next * 2 >= wants.count {
            wants.removeFirst(next)
            next = 0
        }
        view.sending = pending
    }
}

/// Anti-entropy (DESIGN §6, PROTOCOL.md §8): neighbours reconcile the feed heads they hold
/// per topic with range-based set reconciliation, ask for the feeds where the other holds
/// more, and stream them oldest first under byte credit that the receiver replenishes as
/// it stores. Heads describe what a node offers; what to ask for and where to stream from
/// are the pure rules of `FeedSync`, under which summaries converge after entries expired
/// or were deleted: a node never asks for what it holds or has tombstoned.
extension GossipEngine {
    /// Bytes of entries a receiver lets one neighbour have in flight in one topic.
    static let creditWindow = 4 << 20
    /// Largest batch of streamed entries, in bytes and entries.
    static let maxBatchBytes = 1 << 20
    static let maxBatchEntries = 512
    /// Most feeds queued for one neighbour and topic; more are asked for in a later round.
    static let maxQueuedWants = 16_384
    static let maxWantsPerMessage = 1024
    static let maxRangesPerMessage = 256
    static let maxHeadsPerMessage = 4096
    /// Most received batches being verified at once per neighbour and topic.
    static let maxBatchesInFlight = 64

    /// Anti-entropy with every neighbour and topic, for `plexus sync`.
    func syncViews() -> [SyncView] {
        sessions.values.map(\.view).sorted { ($0.topic, $0.peer) < ($1.topic, $1.peer) }
    }

    /// Periodic work (each tick): streams that stalled on a full connection resumed and,
    /// once per `syncInterval`, lost credit granted afresh. Rounds are scheduled by the
    /// state machine (`GossipState.Action.syncRound`).
    func antiEntropyTick() async {
        for (key, session) in sessions where !session.pumping && session.pending > 0 && session.view.creditAvailable > 0 {
            startPump(key)
        }
        let time = elapsed
        guard time >= nextCreditCheck else { return }
        nextCreditCheck = time + syncInterval
        // Credit is lost if a batch is (the mesh sheds frames when this node falls far
        // behind). Credit unused for two intervals is granted afresh; the sender caps what
        // it holds at the window, so this never lets more than a window be in flight.
        for (key, session) in sessions
        where session.view.creditGranted > 0 && session.processingBytes == 0 && time - session.lastStreamed > syncInterval * 2 {
            sessions[key]?.view.creditGranted = 0
            await grantCredit(key)
        }
    }

    /// An anti-entropy message the state machine passed on (the node is in its topic).
    func receiveAntiEntropy(_ gossip: Plexus_Gossip, from peer: AgentID) async {
        switch gossip.kind {
        case .sync(let ranges): await receiveRanges(ranges, from: peer, topic: gossip.topic)
        case .wants(let wants): await receiveWants(wants, from: peer, topic: gossip.topic)
        case .batch(let batch): receiveBatch(batch, from: peer, topic: gossip.topic)
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
        await send(Self.gossip(topic) { $0.sync = Self.encode(ranges) }, to: peer)
    }

    // MARK: - Reconciliation

    func receiveRanges(_ message: Plexus_SyncRanges, from peer: AgentID, topic: String) async {
        guard message.ranges.count <= Self.maxRangesPerMessage,
              message.ranges.reduce(0, { $0 + $1.heads.count }) <= Self.maxHeadsPerMessage,
              let ranges = Self.decode(message)
        else {
            await misbehaved(peer, "sent a malformed reconciliation message")
            return
        }
        guard let local = await localHeads(topic) else { return }
        let (reply, learned) = HeadsReconciliation.respond(to: ranges, local: local)
        for page in HeadsReconciliation.pages(reply) {
            await send(Self.gossip(topic) { $0.sync = Self.encode(page) }, to: peer)
        }
        guard state.isIn(topic) else { return }
        let key = SyncKey(peer: peer, topic: topic)
        if reply.isEmpty {
            sessions[key, default: SyncSession(key)].view.rounds += 1
            sessions[key]?.view.lastRoundMs = wallClock()
        }
        let wants = await wants(for: learned.filter { stores($0.author) }, topic: topic)
        guard !wants.isEmpty else { return }
        sessions[key, default: SyncSession(key)].view.requested = wants.count
        sessions[key]?.view.wantsSent += wants.count
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
        await grantCredit(key)
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
            return FeedSync.want(for: head, accounting: FeedSync.Accounting(maxSeq: held.maxSeq, countInRange: held.countInRange))
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
        let key = SyncKey(peer: peer, topic: topic)
        var session = sessions[key] ?? SyncSession(key)
        for want in message.wants {
            guard let author = AgentID(bytes: want.author) else { continue }
            let wanted = FeedSync.Want(author: author, from: want.from, seq: want.seq, count: want.count)
            guard session.enqueue(SyncSession.Want(want: wanted), limit: Self.maxQueuedWants) else { break }
        }
        sessions[key] = session
        startPump(key)
    }

    func receiveCredit(_ bytes: Int, from peer: AgentID, topic: String) async {
        guard state.isIn(topic) else { return }
        let key = SyncKey(peer: peer, topic: topic)
        var session = sessions[key] ?? SyncSession(key)
        session.view.creditAvailable = min(session.view.creditAvailable + bytes, Self.creditWindow)
        sessions[key] = session
        startPump(key)
    }

    private func startPump(_ key: SyncKey) {
        guard let session = sessions[key], !session.pumping, session.pending > 0, session.view.creditAvailable > 0 else { return }
        sessions[key]?.pumping = true
        Task { await self.pump(key) }
    }

    /// Streams queued feeds while credit lasts. Stops when the connection will not take
    /// more (the next tick resumes) or the neighbour is gone.
    private func pump(_ key: SyncKey) async {
        defer { sessions[key]?.pumping = false }
        while let session = sessions[key], session.view.creditAvailable > 0, let want = session.front {
            let after: UInt64
            if let known = want.after {
                after = known
            } else {
                let wanted = want.want
                guard let offered = try? await store.offeredCount(author: wanted.author, topic: key.topic, from: wanted.from, through: wanted.seq)
                else { return }
                after = FeedSync.streamAfter(wanted, offeredInRange: offered)
            }
            guard let rows = try? await store.encodedEntries(
                author: want.author, topic: key.topic, after: after, limit: Self.maxBatchEntries)
            else { return }
            guard let credit = sessions[key]?.view.creditAvailable else { return }
            if rows.isEmpty {
                sessions[key]?.popFront()
                continue
            }
            var batch: [Data] = []
            var bytes = 0
            for row in rows {
                if bytes + row.encoded.count > min(Self.maxBatchBytes, credit) { break }
                batch.append(row.encoded)
                bytes += row.encoded.count
            }
            guard !batch.isEmpty else { return }  // the next entry exceeds the credit left: wait for more
            let frame = Plexus_Frame.with { $0.gossip = Self.gossip(key.topic) { $0.batch = .with { $0.entries = batch } } }
            guard mesh.send([frame], to: key.peer) else { return }
            sessions[key]?.view.creditAvailable -= bytes
            sessions[key]?.view.entriesSent += batch.count
            EntriesSent.sync.increment(by: batch.count)
            if batch.count == rows.count && rows.count < Self.maxBatchEntries {
                sessions[key]?.popFront()
            } else {
                sessions[key]?.advanceFront(to: rows[batch.count - 1].seq)
            }
        }
    }

    // MARK: - Receiving side

    func receiveBatch(_ batch: Plexus_SyncBatch, from peer: AgentID, topic: String) {
        guard state.isIn(topic) else { return }
        let key = SyncKey(peer: peer, topic: topic)
        var session = sessions[key] ?? SyncSession(key)
        let bytes = batch.entries.reduce(0) { $0 + $1.count }
        guard bytes <= session.view.creditGranted, session.batchesInFlight < Self.maxBatchesInFlight else {
            Task { await self.misbehaved(peer, "streamed entries beyond its credit") }
            return
        }
        session.view.creditGranted -= bytes
        session.processingBytes += bytes
        session.batchesInFlight += 1
        session.lastStreamed = elapsed
        sessions[key] = session
        let limits = self.limits
        Task {
            let (entries, invalid) = await Self.verify(batch.entries, limits: limits)
            await self.store(entries, invalid: invalid, bytes: bytes, for: key)
        }
    }

    private func store(_ entries: [SignedEntry], invalid: Int, bytes: Int, for key: SyncKey) async {
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
        sessions[key]?.processingBytes -= bytes
        sessions[key]?.batchesInFlight -= 1
        sessions[key]?.view.entriesReceived += wanted.count
        if invalid > 0 { await misbehaved(key.peer, "streamed \(invalid) invalid entries or entries of another topic") }
        await grantCredit(key)
    }

    /// Tops the neighbour's credit up to the window, counting bytes still being stored, once
    /// a quarter of the window has been used (so credit messages stay few).
    private func grantCredit(_ key: SyncKey) async {
        guard let session = sessions[key] else { return }
        let grant = Self.creditWindow - session.view.creditGranted - session.processingBytes
        guard grant >= Self.creditWindow / 4 else { return }
        sessions[key]?.view.creditGranted += grant
        sessions[key]?.lastStreamed = elapsed
        await send(Self.gossip(key.topic) { $0.credit = UInt32(grant) }, to: key.peer)
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

    static func encode(_ ranges: [HeadsReconciliation.Range]) -> Plexus_SyncRanges {
        .with { message in
            message.ranges = ranges.map { range in
                var wire = Plexus_SyncRange()
                switch range {
                case .fingerprint(let lower, let upper, let fingerprint, let count):
                    wire.lower = lower?.bytes.asData ?? Data()
                    wire.upper = upper?.bytes.asData ?? Data()
                    var bytes = Data()
                    withUnsafeBytes(of: fingerprint.high.bigEndian) { bytes.append(contentsOf: $0) }
                    withUnsafeBytes(of: fingerprint.low.bigEndian) { bytes.append(contentsOf: $0) }
                    wire.fingerprint = bytes
                    wire.count = UInt64(count)
                case .heads(let lower, let upper, let heads, let reply):
                    wire.lower = lower?.bytes.asData ?? Data()
                    wire.upper = upper?.bytes.asData ?? Data()
                    wire.explicit = true
                    wire.reply = reply
                    wire.heads = heads.map { head in
                        .with {
                            $0.author = head.author.bytes.asData; $0.seq = head.seq; $0.count = head.count
                            $0.from = head.from > 1 ? head.from : 0
                        }
                    }
                }
                return wire
            }
        }
    }

    /// The ranges of a message, or nil when any part is malformed.
    static func decode(_ message: Plexus_SyncRanges) -> [HeadsReconciliation.Range]? {
        var ranges: [HeadsReconciliation.Range] = []
        for wire in message.ranges {
            guard let lower = bound(wire.lower), let upper = bound(wire.upper) else { return nil }
            if wire.explicit {
                var heads: [HeadsReconciliation.Head] = []
                for head in wire.heads {
                    guard let author = AgentID(bytes: head.author) else { return nil }
                    heads.append(HeadsReconciliation.Head(author: author, seq: head.seq, count: head.count, from: head.from))
                }
                ranges.append(.heads(lower: lower, upper: upper, heads: heads, reply: wire.reply))
            } else {
                guard wire.fingerprint.count == 16, wire.count <= UInt64(Int.max) else { return nil }
                var fingerprint = HeadsReconciliation.Fingerprint()
                let bytes = Array(wire.fingerprint)
                fingerprint.high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
                fingerprint.low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
                ranges.append(.fingerprint(lower: lower, upper: upper, fingerprint: fingerprint, count: Int(wire.count)))
            }
        }
        return ranges
    }

    /// A range bound: `.some(nil)` for none (empty), nil when malformed.
    private static func bound(_ bytes: Data) -> AgentID?? {
        if bytes.isEmpty { return .some(nil) }
        guard let id = AgentID(bytes: bytes) else { return nil }
        return .some(id)
    }
}
