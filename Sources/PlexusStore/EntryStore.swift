import Foundation
import GRDB
import PlexusCore
import Synchronization

/// The policy stage of the ingest pipeline (DESIGN §2): who may write what where, beyond
/// the feed rules. Private groups are one (PROTOCOL.md §13.5).
public protocol IngestPolicy: Sendable {
    /// The topics it governs: those whose names start with this.
    var topicPrefix: String { get }
    /// For each entry, why it may not be stored (nil: it may).
    func admit(_ entries: [SignedEntry]) async -> [PlexusError?]
}

/// A node's durable entry store: SQLite in WAL mode through GRDB, with FTS5 search.
///
/// Reads run concurrently on the pool's readers and never block the writer. All writes of
/// entries go through `writer`, which batches them. `synchronous = FULL` makes every
/// acknowledged write durable across power loss, not just process crashes.
public final class EntryStore: Sendable {
    /// The database file.
    public let path: String
    /// The single writer of entries.
    public let writer: EntryWriter
    /// Remembered mesh peers.
    public let peers: PeerBook
    /// The topics and authors this node follows.
    public let interests: Interests
    /// The private groups this node is in, and their sealed epoch keys.
    public let groups: GroupStore
    /// Retention policies added at run time.
    public let retention: RetentionStore
    /// Contacts and their trust.
    public let contacts: ContactStore
    /// Direct messages sent and received.
    public let direct: DirectStore
    /// Blobs held here.
    public let blobs: BlobStore
    /// Wakes readers waiting for new entries.
    public let arrivals: ArrivalSignal
    /// Wakes readers of some topics only (by prefix) when such entries are stored.
    public let topicArrivals: TopicArrivals
    /// Wakes readers when entries with an expiry time are stored (the expiry sweep).
    public let expiringArrivals: ArrivalSignal
    let pool: DatabasePool
    let clock: @Sendable () -> Int64
    private let policies = Mutex<[any IngestPolicy]>([])

    /// Opens (creating if needed) the store at `path` and migrates it.
    /// - Parameter clock: milliseconds since the epoch; injected so tests control expiry.
    public init(path: String, clock: @escaping @Sendable () -> Int64 = EntryStore.wallClockMs) throws(PlexusError) {
        let latest: Int64
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // Pages are read through a memory map and kept in a larger page cache; both are
            // address space that fills only as the store is used.
            try db.execute(sql: "PRAGMA mmap_size = 268435456")
            try db.execute(sql: "PRAGMA cache_size = -16384")
        }
        configuration.maximumReaderCount = 4
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // Every write on the one writer connection waits for an fsync at commit (GRDB
            // leaves WAL connections at NORMAL, which may lose the last commits on power
            // loss); only the writer's batches of replicated entries lower it, for
            // themselves (`EntryWriter`).
            try pool.barrierWriteWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try StoreSchema.migrator.migrate(pool)
            latest = try pool.read { db in try Int64.fetchOne(db, sql: "SELECT max(cursor) FROM entries") ?? 0 }
        } catch {
            throw PlexusError(.internal, "cannot open the store at \(path): \(error)")
        }
        self.path = path
        self.clock = clock
        self.arrivals = ArrivalSignal(latest: latest)
        self.topicArrivals = TopicArrivals(latest: latest)
        self.expiringArrivals = ArrivalSignal(latest: latest)
        self.writer = EntryWriter(
            pool: pool, clock: clock, arrivals: arrivals, topicArrivals: topicArrivals, expiringArrivals: expiringArrivals)
        self.peers = PeerBook(pool: pool, clock: clock)
        self.interests = Interests(pool: pool, clock: clock)
        self.groups = GroupStore(pool: pool)
        self.retention = RetentionStore(pool: pool, clock: clock)
        self.contacts = ContactStore(pool: pool, clock: clock)
        do {
            self.direct = try DirectStore(pool: pool)
        } catch {
            throw PlexusError(.internal, "cannot open the direct messages at \(path): \(error)")
        }
        self.blobs = BlobStore(
            directory: URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("blobs"), pool: pool, clock: clock)
    }

    /// Milliseconds since the Unix epoch, from the system's wall clock (`NodeClock.system`).
    @Sendable public static func wallClockMs() -> Int64 {
        NodeClock.system.nowMs
    }

    /// Adds to the policy stage of ingest (DESIGN §2): each policy is asked about every
    /// arriving entry of the topics it governs before the feed rules; the first refusal
    /// counts.
    public func addPolicy(_ policy: any IngestPolicy) {
        policies.withLock { $0.append(policy) }
    }

    /// Stores a verified entry from elsewhere (see `EntryWriter.ingest`). Its search text
    /// is extracted here, on the caller's task.
    public func ingest(_ entry: SignedEntry, arrival: Arrival = .submitted) async throws(PlexusError) -> IngestOutcome {
        try await ingest(contentsOf: [entry], arrival: arrival)[0]
    }

    /// Stores many verified entries together; outcomes in the same order. Entries the
    /// policy refuses are not written and come back `.refused`.
    public func ingest(contentsOf entries: [SignedEntry], arrival: Arrival = .submitted) async throws(PlexusError) -> [IngestOutcome] {
        var refusals: [PlexusError?] = []
        for policy in policies.withLock({ $0 }) where entries.contains(where: { $0.topic.hasPrefix(policy.topicPrefix) }) {
            let verdicts = await policy.admit(entries)
            refusals = refusals.isEmpty ? verdicts : zip(refusals, verdicts).map { $0 ?? $1 }
        }
        let admitted = entries.indices.filter { refusals.isEmpty || refusals[$0] == nil }
        var stored = try await writer.ingest(contentsOf: admitted.map { IndexedEntry(entries[$0]) }, arrival: arrival)[...]
        var outcomes: [IngestOutcome] = []
        outcomes.reserveCapacity(entries.count)
        for index in entries.indices {
            if !refusals.isEmpty, let refusal = refusals[index] {
                outcomes.append(.refused(refusal))
            } else {
                outcomes.append(stored.removeFirst())
            }
        }
        for outcome in outcomes { IngestCounters.count(outcome) }
        return outcomes
    }

    /// The entry with this id, if held.
    public func entry(_ id: EntryID) async throws(PlexusError) -> StoredEntry? {
        try await read { db in
            try Row.fetchOne(db, sql: Self.selectEntries + " WHERE e.id = ?", arguments: [id.bytes.asData])
                .map(StoredRows.stored)
        }
    }

    /// A page of entries matching `query`.
    public func feed(_ query: FeedQuery) async throws(PlexusError) -> FeedPage {
        let query = try query.validated()
        var conditions: [String] = []
        var arguments: StatementArguments = []
        Self.addFilters(author: query.author, topic: query.topic, type: query.type, tag: query.tag, ref: query.ref,
                        to: &conditions, arguments: &arguments)
        let ascending = query.since != nil
        if let since = query.since {
            conditions.append("e.cursor > ?")
            _ = arguments.append(contentsOf: [since])
        }
        if let before = query.before {
            conditions.append("e.cursor < ?")
            _ = arguments.append(contentsOf: [before])
        }
        let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let sql = Self.selectEntries + whereClause
            + " ORDER BY e.cursor \(ascending ? "ASC" : "DESC") LIMIT \(query.limit + 1)"
        let fixedArguments = arguments
        let rows = try await read { db in try Row.fetchAll(db, sql: sql, arguments: fixedArguments).map(StoredRows.stored) }
        let hasMore = rows.count > query.limit
        let entries = Array(rows.prefix(query.limit))
        let next: Int64? = ascending ? (entries.last?.cursor ?? query.since) : (hasMore ? entries.last?.cursor : nil)
        return FeedPage(entries: entries, nextCursor: next, hasMore: hasMore)
    }

    /// Entries matching a full-text query, best first (BM25 over type, tags and content strings).
    public func search(_ query: SearchQuery) async throws(PlexusError) -> [SearchHit] {
        guard let match = try query.matchExpression() else { return [] }
        var conditions = ["entry_fts MATCH ?"]
        var arguments: StatementArguments = [match]
        Self.addFilters(author: query.author, topic: query.topic, type: query.type, tag: query.tag, ref: nil,
                        to: &conditions, arguments: &arguments)
        // Column weights: type 1, tags 2, content text 1. bm25() is lower for better matches.
        let sql = """
            SELECT e.cursor, e.body, e.signature, e.seq <= a.head_seq AS linked, e.received_ms, e.arrival,
                   bm25(entry_fts, 1.0, 2.0, 1.0) AS rank
            FROM entry_fts
            JOIN entries e ON e.cursor = entry_fts.rowid
            JOIN authors a ON a.author = e.author
            WHERE \(conditions.joined(separator: " AND "))
            ORDER BY rank LIMIT \(query.limit) OFFSET \(query.offset)
            """
        let fixedArguments = arguments
        return try await read { db in
            try Row.fetchAll(db, sql: sql, arguments: fixedArguments).map { row in
                SearchHit(entry: try StoredRows.stored(row), rank: row["rank"])
            }
        }
    }

    /// A thread: `root` and every entry that references it directly or through replies,
    /// in receive order, at most `limit` entries.
    public func thread(_ root: EntryID, limit: Int = 200) async throws(PlexusError) -> [StoredEntry] {
        try PageLimit.check(limit)
        let sql = """
            WITH RECURSIVE members(cursor, id, depth) AS (
                SELECT cursor, id, 0 FROM entries WHERE id = ?
                UNION
                SELECT r.cursor, e.id, m.depth + 1
                FROM members m JOIN entry_refs r ON r.ref = m.id JOIN entries e ON e.cursor = r.cursor
                WHERE m.depth < 64
            )
            \(Self.selectEntries) WHERE e.cursor IN (SELECT cursor FROM members) ORDER BY e.cursor LIMIT \(limit)
            """
        return try await read { db in
            try Row.fetchAll(db, sql: sql, arguments: [root.bytes.asData]).map(StoredRows.stored)
        }
    }

    /// Entries of the topics whose names start with `prefix`, stored after `cursor`, in
    /// receive order, at most `limit`: how the groups' logs are read.
    public func entries(inTopicsWithPrefix prefix: String, after cursor: Int64 = 0, limit: Int = 1000) async throws(PlexusError) -> [StoredEntry] {
        try await read { db in
            try Row.fetchAll(
                db, sql: Self.selectEntries + " WHERE e.cursor > ? AND substr(e.topic, 1, ?) = ? ORDER BY e.cursor LIMIT ?",
                arguments: [cursor, prefix.count, prefix, limit]
            ).map(StoredRows.stored)
        }
    }

    /// The highest seq of `author`'s feed held here, gaps or not (0 when none).
    public func maxSeq(of author: AgentID) async throws(PlexusError) -> UInt64 {
        try await read { db in
            UInt64(try Int64.fetchOne(db, sql: "SELECT max_seq FROM authors WHERE author = ?", arguments: [author.bytes.asData]) ?? 0)
        }
    }

    /// The head of an author's feed: the last entry up to which none is missing.
    public func head(of author: AgentID) async throws(PlexusError) -> FeedHead? {
        try await read { db in try FeedHead.fetch(author: author, db: db) }
    }

    /// Every author whose feed is proven forked, and the seq where it forks.
    public func forkedAuthors() async throws(PlexusError) -> [AgentID: UInt64] {
        try await read { db in
            var forked: [AgentID: UInt64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT author, forked_seq FROM authors WHERE forked_seq IS NOT NULL") {
                guard let bytes = row["author"] as Data?, let author = AgentID(bytes: bytes) else { continue }
                forked[author] = UInt64(row["forked_seq"] as Int64)
            }
            return forked
        }
    }

    /// Proven forks, newest first.
    public func forks(limit: Int = 100) async throws(PlexusError) -> [ForkProof] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM forks ORDER BY detected_ms DESC LIMIT ?", arguments: [limit]).map { row in
                let held = try StoredRows.entry(body: row["held_body"], signature: row["held_signature"])
                let conflicting = try StoredRows.entry(body: row["conflicting_body"], signature: row["conflicting_signature"])
                return ForkProof(author: held.author, seq: UInt64(row["seq"] as Int64), held: held,
                                 conflicting: conflicting, detectedMs: row["detected_ms"])
            }
        }
    }

    /// Which of `ids` are held or tombstoned here: copies of them need no verifying or
    /// storing again.
    public func known(_ ids: [EntryID]) async throws(PlexusError) -> Set<EntryID> {
        var known: Set<EntryID> = []
        // In chunks, well under SQLite's limit on bound variables.
        for start in stride(from: 0, to: ids.count, by: 500) {
            let values = ids[start..<min(start + 500, ids.count)].map { $0.bytes.asData }
            let found = try await read { db in
                let marks = databaseQuestionMarks(count: values.count)
                return try Data.fetchAll(
                    db, sql: "SELECT id FROM entries WHERE id IN (\(marks)) UNION SELECT id FROM tombstones WHERE id IN (\(marks))",
                    arguments: StatementArguments(values + values))
            }
            known.formUnion(found.compactMap { EntryID(bytes: $0) })
        }
        return known
    }

    /// Whether an entry id is tombstoned (deleted or expired here).
    public func isTombstoned(_ id: EntryID) async throws(PlexusError) -> Bool {
        try await read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM tombstones WHERE id = ?", arguments: [id.bytes.asData]) ?? false
        }
    }

    /// Deletes every entry whose `expires_ms` has passed, leaving a tombstone for each so it
    /// is never accepted again. Returns how many were removed.
    @discardableResult
    public func expire() async throws(PlexusError) -> Int {
        let now = clock()
        do {
            return try await pool.write { db in
                let cursors = try Int64.fetchAll(
                    db, sql: "SELECT cursor FROM entries WHERE expires_ms IS NOT NULL AND expires_ms <= ?", arguments: [now])
                var removed = 0
                for start in stride(from: 0, to: cursors.count, by: Self.removalBatch) {
                    let slice = Array(cursors[start..<min(start + Self.removalBatch, cursors.count)])
                    removed += try Self.remove(slice, reason: "expired", nowMs: now, in: db)
                }
                return removed
            }
        } catch {
            throw PlexusError(.internal, "expiry failed: \(error)")
        }
    }

    /// When the next held entry expires (ms since the epoch), or nil when none will.
    public func nextExpiryMs() async throws(PlexusError) -> Int64? {
        try await read { db in
            try Int64.fetchOne(db, sql: "SELECT min(expires_ms) FROM entries WHERE expires_ms IS NOT NULL")
        }
    }

    /// Counts for status displays.
    public func stats() async throws(PlexusError) -> StoreCounts {
        try await read { db in
            StoreCounts(
                entries: try Int.fetchOne(db, sql: "SELECT count(*) FROM entries") ?? 0,
                authors: try Int.fetchOne(db, sql: "SELECT count(*) FROM authors") ?? 0,
                forkedAuthors: try Int.fetchOne(db, sql: "SELECT count(*) FROM authors WHERE forked_seq IS NOT NULL") ?? 0,
                tombstones: try Int.fetchOne(db, sql: "SELECT count(*) FROM tombstones") ?? 0,
                latestCursor: try Int64.fetchOne(db, sql: "SELECT max(cursor) FROM entries") ?? 0)
        }
    }

    static let selectEntries = """
        SELECT e.cursor, e.body, e.signature, e.seq <= a.head_seq AS linked, e.received_ms, e.arrival
        FROM entries e JOIN authors a ON a.author = e.author
        """

    private static func addFilters(
        author: AgentID?, topic: String?, type: String?, tag: String?, ref: EntryID?,
        to conditions: inout [String], arguments: inout StatementArguments
    ) {
        if let author {
            conditions.append("e.author = ?")
            _ = arguments.append(contentsOf: [author.bytes.asData])
        }
        if let topic {
            conditions.append("e.topic = ?")
            _ = arguments.append(contentsOf: [topic])
        }
        if let type {
            conditions.append("e.type = ?")
            _ = arguments.append(contentsOf: [type])
        }
        if let tag {
            conditions.append("EXISTS (SELECT 1 FROM entry_tags t WHERE t.tag = ? AND t.cursor = e.cursor)")
            _ = arguments.append(contentsOf: [tag])
        }
        if let ref {
            conditions.append("EXISTS (SELECT 1 FROM entry_refs r WHERE r.ref = ? AND r.cursor = e.cursor)")
            _ = arguments.append(contentsOf: [ref.bytes.asData])
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(PlexusError) -> T {
        do {
            return try await pool.read(body)
        } catch let error as PlexusError {
            throw error
        } catch {
            throw PlexusError(.internal, "store read failed: \(error)")
        }
    }
}

