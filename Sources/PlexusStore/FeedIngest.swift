import Foundation
import GRDB
import PlexusCore

/// The feed rules of DESIGN §4, applied to one verified entry inside a write transaction:
/// tombstones, duplicates, forks (with proof), gaps (unlinked entries) and linking.
/// An entry that is refused leaves the database exactly as it was.
enum FeedIngest {
    static func apply(_ indexed: IndexedEntry, nowMs: Int64, db: Database) throws -> IngestOutcome {
        let entry = indexed.entry
        let id = entry.id.bytes.asData
        let author = entry.author.bytes.asData
        let seq = Int64(clamping: entry.seq)

        if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM tombstones WHERE id = ?"), arguments: [id]) == true {
            return .refused(PlexusError(.tombstoned, "entry \(entry.id.hex.prefix(16)) was deleted or expired here and is not accepted again"))
        }
        if let cursor = try Int64.fetchOne(db.cachedStatement(sql: "SELECT cursor FROM entries WHERE id = ?"), arguments: [id]) {
            return .duplicate(cursor: cursor)
        }
        if let expires = entry.expiresMs, Int64(clamping: expires) <= nowMs {
            return .refused(PlexusError(.tombstoned, "entry \(entry.id.hex.prefix(16)) expired at \(expires)"))
        }

        let authorRow = try Row.fetchOne(db.cachedStatement(sql: "SELECT head_seq, forked_seq FROM authors WHERE author = ?"), arguments: [author])
        if let forkedSeq = authorRow?["forked_seq"] as Int64? {
            return .refused(PlexusError(.authorForked, "author \(entry.author.short) forked its feed at seq \(forkedSeq); its entries are refused"))
        }
        var headSeq: Int64 = authorRow?["head_seq"] ?? 0
        if authorRow == nil {
            try db.cachedStatement(sql: "INSERT INTO authors (author, head_seq) VALUES (?, 0)").execute(arguments: [author])
        }

        // The neighbours in the author's feed must agree with this entry.
        let neighbours = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT seq, id, prev FROM entries WHERE author = ? AND seq BETWEEN ? AND ?"),
            arguments: [author, seq - 1, seq + 1])
        for row in neighbours {
            let heldSeq: Int64 = row["seq"]
            let contradicts: Bool
            switch heldSeq {
            case seq: contradicts = true  // same seq, different id (not a duplicate)
            case seq - 1: contradicts = entry.prev?.bytes.asData != (row["id"] as Data)
            default: contradicts = (row["prev"] as Data?) != id
            }
            if contradicts {
                let held = try heldEntry(author: author, seq: heldSeq, db: db)
                let forkSeq = min(heldSeq, seq)
                try recordFork(author: author, seq: forkSeq, held: held, conflicting: entry, nowMs: nowMs, db: db)
                return .refused(PlexusError(.forkDetected, "author \(entry.author.short) signed conflicting entries at seq \(forkSeq); proof kept, author marked forked"))
            }
        }

        let tags = entry.tags
        try db.cachedStatement(sql: """
                INSERT INTO entries (id, author, seq, prev, time_ms, type, topic, expires_ms, received_ms, body, signature)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(
            arguments: [id, author, seq, entry.prev?.bytes.asData, entry.timeMs, entry.type, entry.topic,
                        entry.expiresMs.map { Int64(clamping: $0) }, nowMs, entry.body, entry.signature])
        let cursor = db.lastInsertedRowID
        for tag in Set(tags) {
            try db.cachedStatement(sql: "INSERT INTO entry_tags (cursor, tag) VALUES (?, ?)").execute(arguments: [cursor, tag])
        }
        for ref in Set(entry.refs) {
            try db.cachedStatement(sql: "INSERT INTO entry_refs (cursor, ref) VALUES (?, ?)").execute(arguments: [cursor, ref.bytes.asData])
        }
        try db.cachedStatement(sql: "INSERT INTO entry_fts (rowid, type, tags, text) VALUES (?, ?, ?, ?)")
            .execute(arguments: [cursor, entry.type, tags.joined(separator: " "), indexed.searchText])

        if seq == headSeq + 1 {
            // Extend the linked prefix over this entry and any that were waiting for it.
            // Walk forward only over the contiguous run; stop at the first gap.
            let following = try Int64.fetchCursor(
                db.cachedStatement(sql: "SELECT seq FROM entries WHERE author = ? AND seq > ? ORDER BY seq"), arguments: [author, seq])
            headSeq = seq
            while let next = try following.next(), next == headSeq + 1 {
                headSeq = next
            }
            try db.cachedStatement(sql: "UPDATE authors SET head_seq = ? WHERE author = ?").execute(arguments: [headSeq, author])
        }
        return .stored(StoredEntry(entry: entry, cursor: cursor, linked: seq <= headSeq))
    }

    private static func heldEntry(author: Data, seq: Int64, db: Database) throws -> SignedEntry {
        let row = try Row.fetchOne(
            db, sql: "SELECT body, signature FROM entries WHERE author = ? AND seq = ?", arguments: [author, seq])
        guard let row else { throw PlexusError(.internal, "held entry vanished during ingest") }
        return try StoredRows.entry(body: row["body"], signature: row["signature"])
    }

    private static func recordFork(
        author: Data, seq: Int64, held: SignedEntry, conflicting: SignedEntry, nowMs: Int64, db: Database
    ) throws {
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO forks (author, seq, held_body, held_signature, conflicting_body, conflicting_signature, detected_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [author, seq, held.body, held.signature, conflicting.body, conflicting.signature, nowMs])
        try db.execute(sql: "UPDATE authors SET forked_seq = ? WHERE author = ?", arguments: [seq, author])
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
            linked: row["linked"])
    }
}
