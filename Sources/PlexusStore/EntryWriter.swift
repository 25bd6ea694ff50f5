import Foundation
import GRDB
import PlexusCore

/// The one writer of entries. Concurrent callers are batched into shared transactions
/// (group commit), so each acknowledged write is durable while one fsync serves many.
///
/// Local appends take their seq here, in the order they are queued: signing and queueing
/// happen together on this actor, so a node's own feed never has a gap or a reordering.
public actor EntryWriter {
    /// Entries queued by one caller, answered together.
    private struct Pending {
        let entries: [IndexedEntry]
        /// How they arrived; `.published` marks a local append.
        let arrival: Arrival
        let continuation: CheckedContinuation<Result<[IngestOutcome], PlexusError>, Never>
    }

    /// Entries beyond which no further caller's entries join a transaction.
    public static let maxBatch = 512
    /// Most entries waiting to be written; beyond it callers get `overloaded`.
    public static let maxPending = 16_384

    private let pool: DatabasePool
    private let clock: @Sendable () -> Int64
    private let arrivals: ArrivalSignal
    private let topicArrivals: TopicArrivals
    private let expiringArrivals: ArrivalSignal
    private var pending: [Pending] = []
    private var pendingCount = 0
    private var flushing = false
    /// Heads of feeds appended through this writer, including queued entries.
    private var localHeads: [AgentID: FeedHead] = [:]

    init(
        pool: DatabasePool, clock: @escaping @Sendable () -> Int64, arrivals: ArrivalSignal, topicArrivals: TopicArrivals,
        expiringArrivals: ArrivalSignal
    ) {
        self.pool = pool
        self.clock = clock
        self.arrivals = arrivals
        self.topicArrivals = topicArrivals
        self.expiringArrivals = expiringArrivals
    }

    /// Stores an entry that arrived verified from elsewhere, applying the feed rules.
    /// Throws only when storage itself fails or the queue is full.
    ///
    /// Entries replicated from peers (`.pushed`, `.synced`) are committed without waiting
    /// for an fsync: a crash may lose the last such entries, which anti-entropy fetches
    /// again; the next durable commit, and every checkpoint, makes them durable too.
    /// Entries a caller hands in through the API stay durable.
    public func ingest(_ entry: IndexedEntry, arrival: Arrival = .submitted) async throws(PlexusError) -> IngestOutcome {
        try await enqueue([entry], arrival: arrival)[0]
    }

    /// Stores many verified entries in one go; outcomes come back in the same order.
    public func ingest(contentsOf entries: [IndexedEntry], arrival: Arrival = .submitted) async throws(PlexusError) -> [IngestOutcome] {
        guard !entries.isEmpty else { return [] }
        return try await enqueue(entries, arrival: arrival)
    }

    /// Appends to `author`'s own feed. `make` receives the current head (nil for an empty
    /// feed) and returns the signed next entry; it runs on this actor, so seqs are
    /// assigned in queue order. Keep `make` small (set seq and prev, sign): everything that
    /// does not depend on the head belongs before the call. `searchText` is what search
    /// indexes for the entry.
    public func append(
        as author: AgentID, searchText: String, _ make: (FeedHead?) throws(PlexusError) -> SignedEntry
    ) async throws(PlexusError) -> StoredEntry {
        try await appendAll(as: author, searchText: searchText) { head throws(PlexusError) in [try make(head)] }[0]
    }

    /// Appends a run of entries to `author`'s own feed in one transaction: all of them are
    /// stored or none (e.g. a rekey split over several entries, which is of no use in part).
    /// `make` returns them in feed order, the first following `head`.
    public func appendAll(
        as author: AgentID, searchText: String, _ make: (FeedHead?) throws(PlexusError) -> [SignedEntry]
    ) async throws(PlexusError) -> [StoredEntry] {
        try await appendAll(as: author, searchTexts: { _ in searchText }, make)
    }

    /// `appendAll` with each entry's own search text, by its index in what `make` returns
    /// (a batch of publishes).
    public func appendAll(
        as author: AgentID, searchTexts: (Int) -> String, _ make: (FeedHead?) throws(PlexusError) -> [SignedEntry]
    ) async throws(PlexusError) -> [StoredEntry] {
        if localHeads[author] == nil {
            let head = try await loadHead(of: author)
            if localHeads[author] == nil { localHeads[author] = head }
        }
        var head = localHeads[author] ?? nil
        let entries = try make(head)
        guard !entries.isEmpty, entries.count <= Self.maxBatch else {
            throw PlexusError(.internal, "append produced \(entries.count) entries (1 to \(Self.maxBatch))")
        }
        for entry in entries {
            guard entry.author == author, entry.seq == (head?.seq ?? 0) + 1, entry.prev == head?.id else {
                throw PlexusError(.internal, "append produced an entry that does not follow the feed head")
            }
            head = FeedHead(seq: entry.seq, id: entry.id)
        }
        localHeads[author] = head
        let outcomes = try await enqueue(
            entries.enumerated().map { IndexedEntry($0.element, searchText: searchTexts($0.offset)) }, arrival: .published)
        return try outcomes.map { outcome throws(PlexusError) in
            switch outcome {
            case .stored(let stored):
                return stored
            case .duplicate:
                throw PlexusError(.internal, "an own entry was already stored at its seq")
            case .refused(let error):
                throw error
            }
        }
    }

    private func enqueue(_ entries: [IndexedEntry], arrival: Arrival) async throws(PlexusError) -> [IngestOutcome] {
        guard pendingCount + entries.count <= Self.maxPending else {
            if arrival == .published { localHeads[entries[0].entry.author] = nil }
            throw PlexusError(.overloaded, "the store has \(pendingCount) writes queued; try again shortly")
        }
        let result = await withCheckedContinuation { continuation in
            pending.append(Pending(entries: entries, arrival: arrival, continuation: continuation))
            pendingCount += entries.count
            if !flushing {
                flushing = true
                Task { await self.flush() }
            }
        }
        return try result.get()
    }

    private func flush() async {
        while !pending.isEmpty {
            var taken = 0
            var size = 0
            while taken < pending.count, taken == 0 || size + pending[taken].entries.count <= Self.maxBatch {
                size += pending[taken].entries.count
                taken += 1
            }
            let batch = Array(pending.prefix(taken))
            pending.removeFirst(taken)
            pendingCount -= size
            let groups = batch.map { ($0.entries, $0.arrival) }
            let now = clock()
            let durable = batch.contains { $0.arrival.isDurable }
            do {
                let outcomes = try await pool.writeWithoutTransaction { db in
                    // The connection syncs the WAL at every commit (FULL). A batch of replicated
                    // entries only commits with NORMAL, which leaves the sync to the next FULL
                    // commit or checkpoint (still crash-consistent, never corrupt), and puts FULL
                    // back for every other write on the connection, whatever the batch did.
                    guard !durable else { return try Self.apply(groups, nowMs: now, in: db) }
                    try db.cachedStatement(sql: "PRAGMA synchronous = NORMAL").execute()
                    let outcomes = Result { try Self.apply(groups, nowMs: now, in: db) }
                    try db.cachedStatement(sql: "PRAGMA synchronous = FULL").execute()
                    return try outcomes.get()
                }
                let stored = outcomes.joined().compactMap(\.stored)
                // An own entry that came in signed elsewhere (submitted, or synced back from
                // a peer) moves the feed's head too: the next local append follows it
                // instead of taking its seq again.
                for entry in stored.map(\.entry) where (localHeads[entry.author]?.seq).map({ $0 < entry.seq }) ?? false {
                    localHeads[entry.author] = FeedHead(seq: entry.seq, id: entry.id)
                }
                if let newest = stored.map(\.cursor).max() {
                    await arrivals.advance(to: newest)
                    await topicArrivals.advance(stored)
                    if let expiring = stored.lazy.filter({ $0.entry.expiresMs != nil }).map(\.cursor).max() {
                        await expiringArrivals.advance(to: expiring)
                    }
                }
                for (item, outcome) in zip(batch, outcomes) {
                    if item.arrival == .published, outcome.contains(where: { $0.stored == nil }) {
                        // The seq was not used; re-read the head before the next append.
                        localHeads[item.entries[0].entry.author] = nil
                    }
                    item.continuation.resume(returning: .success(outcome))
                }
            } catch {
                // Nothing of the batch was written. Later queued appends build on seqs that
                // now do not exist, so they fail too and the heads are re-read.
                let failure = PlexusError(.internal, "storage failed: \(error)")
                let failed = batch + pending
                pending.removeAll()
                pendingCount = 0
                localHeads.removeAll()
                for item in failed { item.continuation.resume(returning: .failure(failure)) }
            }
        }
        flushing = false
    }

    /// Applies the feed rules to each group of entries in one transaction.
    private static func apply(_ groups: [([IndexedEntry], Arrival)], nowMs: Int64, in db: Database) throws -> [[IngestOutcome]] {
        var outcomes: [[IngestOutcome]] = []
        try db.inTransaction {
            var ingest = FeedIngest(db: db, nowMs: nowMs)
            outcomes = try groups.map { entries, arrival in
                try entries.map { try ingest.apply($0, arrival: arrival) }
            }
            try ingest.finish()
            return .commit
        }
        return outcomes
    }

    private func loadHead(of author: AgentID) async throws(PlexusError) -> FeedHead? {
        do {
            return try await pool.read { db in try FeedHead.fetch(author: author, latest: true, db: db) }
        } catch {
            throw PlexusError(.internal, "could not read the feed head: \(error)")
        }
    }
}

/// The latest entry of a feed up to which every entry is held.
public struct FeedHead: Sendable, Equatable {
    public let seq: UInt64
    public let id: EntryID

    /// The head of `author`'s feed, nil when no entry of it is held: the end of the linked
    /// prefix, or with `latest` the highest seq held (where an own feed must continue, even
    /// past a gap, so that it never contradicts an entry it already signed). The head entry
    /// may have expired since; its id is then read from its tombstone.
    static func fetch(author: AgentID, latest: Bool = false, db: Database) throws -> FeedHead? {
        let column = latest ? "max_seq" : "head_seq"
        let row = try Row.fetchOne(
            db,
            sql: """
                SELECT a.\(column) AS seq,
                       COALESCE((SELECT id FROM entries WHERE author = a.author AND seq = a.\(column)),
                                (SELECT id FROM tombstones WHERE author = a.author AND seq = a.\(column))) AS id
                FROM authors a WHERE a.author = ? AND a.\(column) > 0
                """,
            arguments: [author.bytes.asData])
        guard let row else { return nil }
        guard let idBytes = row["id"] as Data?, let id = EntryID(bytes: idBytes) else {
            throw PlexusError(.internal, "feed head of \(author.short) has no entry or tombstone")
        }
        return FeedHead(seq: UInt64(row["seq"] as Int64), id: id)
    }
}
