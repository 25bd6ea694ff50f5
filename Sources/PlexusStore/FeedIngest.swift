import Foundation
import GRDB
import PlexusCore

/// The feed rules of DESIGN §4, applied to verified entries inside one write transaction:
/// tombstones, duplicates, forks (with proof), gaps (unlinked entries) and linking.
/// An entry that is refused leaves the database as it was.
///
/// One value serves one transaction: it keeps each touched author's state in memory and
/// writes it back once in `finish()`, instead of reading and updating it per entry.
struct FeedIngest {
    /// What the store knows of one author's feed.
    private struct AuthorState {
        /// Every entry from seq 1 to here is held (the linked prefix).
        var headSeq: Int64
        /// The highest seq held (beyond `headSeq` when entries wait for a gap).
        var maxSeq: Int64
        var forkedSeq: Int64?
        var changed = false
        /// The id of the entry at `maxSeq` when this transaction stored it (and nothing of
        /// the author was removed since): the one neighbour the next seq is checked against.
        var maxSeqID: Data?
    }

    /// One row of `topic_heads`.
    private struct TopicHeadKey: Hashable {
        let topic: String
        let author: Data
    }

    /// The highest seq stored (PROTOCOL.md §2.3): 2^63 − 2.
    static let highestStoredSeq = UInt64(Int64.max - 1)

    private let db: Database
    private let nowMs: Int64
    private var authors: [Data: AuthorState] = [:]
    private var topicHeads: [TopicHeadKey: (maxSeq: Int64, count: Int64, minSeq: Int64)] = [:]
    /// Low-water marks read in this transaction (they change only when tombstones collapse,
    /// in a transaction of their own).
    private var marks: [TopicHeadKey: Int64?] = [:]

    init(db: Database, nowMs: Int64) {
        self.db = db
        self.nowMs = nowMs
    }

    /// Applies the rules to one entry. A `.published` entry is one the writer built on the
    /// feed head it holds: it cannot be a duplicate, a tombstone or a fork, so those
    /// lookups are skipped when the feed has nothing beyond its head.
    mutating func apply(_ indexed: IndexedEntry, arrival: Arrival) throws -> IngestOutcome {
        let isLocalAppend = arrival == .published
        let entry = indexed.entry
        // Seqs are stored as SQLite's signed 64-bit integers, and the fork check reads seq + 1.
        guard entry.seq <= Self.highestStoredSeq else {
            return .refused(PlexusError(.malformedEntry, "entry seq \(entry.seq) is beyond \(Self.highestStoredSeq), the highest this node stores"))
        }
        let id = entry.id.bytes.asData
        let authorKey = entry.author.bytes.asData
        let seq = Int64(clamping: entry.seq)
        var author = try state(of: authorKey)

        if let forkedSeq = author.forkedSeq {
            return .refused(PlexusError(.authorForked, "author \(entry.author.short) forked its feed at seq \(forkedSeq); its entries are refused"))
        }
        let trusted = isLocalAppend && seq == author.headSeq + 1 && author.maxSeq == author.headSeq
        if !trusted {
            if let tombstoned = try Data.fetchOne(db.cachedStatement(sql: "SELECT author FROM tombstones WHERE id = ?"), arguments: [id]) {
                guard tombstoned != authorKey else {
                    return .refused(PlexusError(.tombstoned, "entry \(entry.id.hex.prefix(16)) was deleted or expired here and is not accepted again"))
                }
                // A stub by someone else naming this id deletes nothing of this author's.
                try db.cachedStatement(sql: "DELETE FROM tombstones WHERE id = ?").execute(arguments: [id])
            }
            if let mark = try mark(TopicName.replication(of: entry.topic), author: authorKey), seq < mark {
                return .refused(PlexusError(.tombstoned, "entry \(entry.id.hex.prefix(16)) is below the seq \(mark) this node keeps entries of \(entry.author.short) from in its topic"))
            }
            // Nothing of the author is held above `maxSeq`, and an id names one author and
            // seq: an entry beyond it is no duplicate, and its only held neighbour can be the
            // entry at seq - 1, whose id is at hand when this transaction stored it (entries
            // arriving in feed order take this path).
            let beyondHeld = seq > author.maxSeq
            if !beyondHeld, let cursor = try Int64.fetchOne(db.cachedStatement(sql: "SELECT cursor FROM entries WHERE id = ?"), arguments: [id]) {
                return .duplicate(cursor: cursor)
            }
            if let expires = entry.expiresMs, Int64(clamping: expires) <= nowMs {
                return .refused(PlexusError(.tombstoned, "entry \(entry.id.hex.prefix(16)) expired at \(expires)"))
            }
            let mayContradict = !beyondHeld || (seq - 1 == author.maxSeq && author.maxSeq > 0 && author.maxSeqID != entry.prev?.bytes.asData)
            if mayContradict, let forkSeq = try contradiction(entry, seq: seq, author: authorKey) {
                author.forkedSeq = forkSeq
                author.changed = true
                authors[authorKey] = author
                return .refused(PlexusError(.forkDetected, "author \(entry.author.short) signed conflicting entries at seq \(forkSeq); proof kept, author marked forked"))
            }
        }

        let cursor = try insert(indexed, id: id, author: authorKey, seq: seq, arrival: arrival)
        try countInTopic(TopicName.replication(of: entry.topic), author: authorKey, seq: seq)
        if seq > author.maxSeq {
            author.maxSeq = seq
            author.maxSeqID = id
        }
        try extendLinks(&author, over: seq, of: authorKey)
        let linked = seq <= author.headSeq
        if let request = DeleteRequest(entry) {
            try honour(request, by: authorKey, state: &author)
        }
        author.changed = true
        authors[authorKey] = author
        return .stored(StoredEntry(entry: entry, cursor: cursor, linked: linked, receivedMs: nowMs, arrival: arrival))
    }

    /// When `seq` continues the linked prefix, extends the prefix over it and over every
    /// held entry or tombstone stub that follows without a gap.
    private func extendLinks(_ author: inout AuthorState, over seq: Int64, of authorKey: Data) throws {
        guard seq == author.headSeq + 1 else { return }
        author.headSeq = seq
        guard author.maxSeq > seq else { return }
        let following = try Int64.fetchCursor(
            db.cachedStatement(sql: """
                SELECT seq FROM entries WHERE author = ? AND seq > ?
                UNION SELECT seq FROM tombstones WHERE author = ? AND seq > ? ORDER BY seq
                """),
            arguments: [authorKey, seq, authorKey, seq])
        while let next = try following.next(), next == author.headSeq + 1 {
            author.headSeq = next
        }
    }

    /// Applies an author's delete request (PROTOCOL.md §2.6): each named entry of the same
    /// author in the request's topic is removed, leaving its tombstone; one not held leaves
    /// the stub as its tombstone at once, so it is never fetched. Group topics are out of
    /// scope (their entries are retracted within the group).
    private mutating func honour(_ request: DeleteRequest, by author: Data, state: inout AuthorState) throws {
        let topic = TopicName.replication(of: request.topic)
        guard !topic.hasPrefix("group/") else { return }
        for stub in request.stubs {
            let id = stub.id.bytes.asData
            let held = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT cursor, seq, topic FROM entries WHERE id = ? AND author = ?"), arguments: [id, author])
            if let held {
                guard TopicName.replication(of: held["topic"]) == topic else { continue }
                _ = try EntryStore.remove([held["cursor"]], reason: "deleted", nowMs: nowMs, in: db)
                state.maxSeqID = nil
                topicHeads[TopicHeadKey(topic: topic, author: author)] = nil  // counted again from the table
            } else {
                try db.cachedStatement(sql: """
                    INSERT OR IGNORE INTO tombstones (id, author, seq, prev, topic, reason, removed_ms) VALUES (?, ?, ?, ?, ?, 'deleted', ?)
                    """).execute(arguments: [id, author, Int64(clamping: stub.seq), stub.prev?.bytes.asData, topic, nowMs])
                try extendLinks(&state, over: Int64(clamping: stub.seq), of: author)
            }
        }
    }

    /// Writes back the state of every author this transaction changed.
    func finish() throws {
        for (author, state) in authors where state.changed {
            try db.cachedStatement(sql: """
                INSERT INTO authors (author, head_seq, max_seq, forked_seq) VALUES (?, ?, ?, ?)
                ON CONFLICT (author) DO UPDATE SET
                    head_seq = excluded.head_seq, max_seq = excluded.max_seq, forked_seq = excluded.forked_seq
                """).execute(arguments: [author, state.headSeq, state.maxSeq, state.forkedSeq])
        }
        for (key, head) in topicHeads {
            try db.cachedStatement(sql: """
                INSERT INTO topic_heads (topic, author, max_seq, count, min_seq) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (topic, author) DO UPDATE SET
                    max_seq = excluded.max_seq, count = excluded.count, min_seq = excluded.min_seq
                """).execute(arguments: [key.topic, key.author, head.maxSeq, head.count, head.minSeq])
        }
    }

    /// The seq below which nothing of `author` is kept in a replication topic, if marked.
    private mutating func mark(_ topic: String, author: Data) throws -> Int64? {
        let key = TopicHeadKey(topic: topic, author: author)
        if let known = marks[key] { return known }
        let mark = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT retained_from FROM feed_marks WHERE topic = ? AND author = ?"), arguments: [topic, author])
        marks[key] = mark
        return mark
    }

    /// Counts a stored entry in its topic's head for the author.
    private mutating func countInTopic(_ topic: String, author: Data, seq: Int64) throws {
        let key = TopicHeadKey(topic: topic, author: author)
        var head = topicHeads[key]
        if head == nil {
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT max_seq, count, min_seq FROM topic_heads WHERE topic = ? AND author = ?"),
                arguments: [topic, author])
            head = (row?["max_seq"] ?? 0, row?["count"] ?? 0, row?["min_seq"] ?? 0)
        }
        if var head {
            head.minSeq = head.count == 0 ? seq : min(head.minSeq, seq)
            head.maxSeq = max(head.maxSeq, seq)
            head.count += 1
            topicHeads[key] = head
        }
    }

    private mutating func state(of author: Data) throws -> AuthorState {
        if let known = authors[author] { return known }
        let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT head_seq, max_seq, forked_seq FROM authors WHERE author = ?"), arguments: [author])
        let state = AuthorState(headSeq: row?["head_seq"] ?? 0, maxSeq: row?["max_seq"] ?? 0, forkedSeq: row?["forked_seq"])
        authors[author] = state
        return state
    }

    /// Checks the entry against its held neighbours in the feed. On a contradiction, keeps
    /// both signed entries as a fork proof and returns the seq where the histories diverge.
    private func contradiction(_ entry: SignedEntry, seq: Int64, author: Data) throws -> Int64? {
        let neighbours = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT seq, id, prev FROM entries WHERE author = ? AND seq BETWEEN ? AND ?"),
            arguments: [author, seq - 1, seq + 1])
        for row in neighbours {
            let heldSeq: Int64 = row["seq"]
            let contradicts: Bool
            switch heldSeq {
            case seq: contradicts = true  // same seq, different id (not a duplicate)
            case seq - 1: contradicts = entry.prev?.bytes.asData != (row["id"] as Data)
            default: contradicts = (row["prev"] as Data?) != entry.id.bytes.asData
            }
            guard contradicts else { continue }
            let held = try heldEntry(author: author, seq: heldSeq)
            let forkSeq = min(heldSeq, seq)
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO forks (author, seq, held_body, held_signature, conflicting_body, conflicting_signature, detected_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [author, forkSeq, held.body, held.signature, entry.body, entry.signature, nowMs])
            return forkSeq
        }
        return nil
    }

    private func insert(_ indexed: IndexedEntry, id: Data, author: Data, seq: Int64, arrival: Arrival) throws -> Int64 {
        let entry = indexed.entry
        try db.cachedStatement(sql: """
            INSERT INTO entries (id, author, seq, prev, time_ms, type, topic, expires_ms, received_ms, body, signature, arrival)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                id, author, seq, entry.prev?.bytes.asData, entry.timeMs, entry.type, entry.topic,
                entry.expiresMs.map { Int64(clamping: $0) }, nowMs, entry.body, entry.signature, arrival.rawValue,
            ])
        let cursor = db.lastInsertedRowID
        for tag in Set(entry.tags) {
            try db.cachedStatement(sql: "INSERT INTO entry_tags (cursor, tag) VALUES (?, ?)").execute(arguments: [cursor, tag])
        }
        for ref in Set(entry.refs) {
            try db.cachedStatement(sql: "INSERT INTO entry_refs (cursor, ref) VALUES (?, ?)").execute(arguments: [cursor, ref.bytes.asData])
        }
        for blob in Set(BlobReferences.ids(inContent: entry.content)) {
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO blob_refs (blob, cursor) VALUES (?, ?)").execute(arguments: [blob.bytes.asData, cursor])
        }
        try db.cachedStatement(sql: "INSERT INTO entry_fts (rowid, type, tags, text) VALUES (?, ?, ?, ?)")
            .execute(arguments: [cursor, entry.type, entry.tags.joined(separator: " "), indexed.searchText])
        return cursor
    }

    private func heldEntry(author: Data, seq: Int64) throws -> SignedEntry {
        let row = try Row.fetchOne(
            db, sql: "SELECT body, signature FROM entries WHERE author = ? AND seq = ?", arguments: [author, seq])
        guard let row else { throw PlexusError(.internal, "held entry vanished during ingest") }
        return try StoredRows.entry(body: row["body"], signature: row["signature"])
    }
}

/// Decoding of rows read back from the store.
enum StoredRows {
    /// Rebuilds an entry from stored bytes. They were verified at ingest, so only the
    /// protobuf decoding is repeated, not the signature check.
    static func entry(body: Data, signature: Data) throws -> SignedEntry {
        try SignedEntry(verifiedBody: body, signature: signature)
    }

    static func stored(_ row: Row) throws -> StoredEntry {
        StoredEntry(
            entry: try entry(body: row["body"], signature: row["signature"]),
            cursor: row["cursor"],
            linked: row["linked"],
            receivedMs: row["received_ms"],
            arrival: Arrival(rawValue: row["arrival"]) ?? .submitted)
    }
}
