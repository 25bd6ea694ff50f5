import Foundation
import GRDB
import PlexusCore

/// Removing stored entries, for every reason a node drops them (expiry, retention): each
/// leaves a tombstone, so the entry is never accepted or fetched again, and the heads of
/// the feeds it was in are counted again from what is held.
extension EntryStore {
    /// Entries removed per statement batch: the writer is not held for long at a time.
    static let removalBatch = 2_000

    /// Deletes the entries at `cursors`, tombstones them with `reason`, and counts the heads
    /// of the feeds they were in again. Returns how many were deleted.
    static func remove(_ cursors: [Int64], reason: String, nowMs: Int64, in db: Database) throws -> Int {
        guard !cursors.isEmpty else { return 0 }
        let marks = Array(repeating: "?", count: cursors.count).joined(separator: ",")
        let list = StatementArguments(cursors)
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO tombstones (id, author, seq, prev, topic, reason, removed_ms)
                SELECT id, author, seq, prev, CASE topic WHEN '' THEN 'mesh' ELSE topic END, ?, ?
                FROM entries WHERE cursor IN (\(marks))
                """,
            arguments: [reason, nowMs] + list)
        let touched = try Row.fetchAll(
            db, sql: "SELECT DISTINCT CASE topic WHEN '' THEN 'mesh' ELSE topic END AS topic, author FROM entries WHERE cursor IN (\(marks))",
            arguments: list)
        try db.execute(sql: "DELETE FROM entry_fts WHERE rowid IN (\(marks))", arguments: list)
        try db.execute(sql: "DELETE FROM blob_refs WHERE cursor IN (\(marks))", arguments: list)
        try db.execute(sql: "DELETE FROM entries WHERE cursor IN (\(marks))", arguments: list)
        let removed = db.changesCount
        for row in touched {
            let topic: String = row["topic"]
            let author: Data = row["author"]
            try db.execute(sql: "DELETE FROM topic_heads WHERE topic = ? AND author = ?", arguments: [topic, author])
            try db.execute(
                sql: """
                    INSERT INTO topic_heads (topic, author, max_seq, count, min_seq)
                    SELECT ?, author, max(seq), count(*), min(seq) FROM entries
                    WHERE author = ? AND topic IN (?, ?) GROUP BY author
                    """,
                arguments: [topic, author, topic, Self.storedTopic(topic)])
        }
        return removed
    }

}

/// What a node keeps of an entry it removed: its place in the author's chain (the stub:
/// id, seq and prev), where it was, and why it went (`expired`, `retention`, `deleted`).
public struct Tombstone: Sendable, Equatable {
    public let id: EntryID
    public let author: AgentID
    public let seq: UInt64
    public let prev: EntryID?
    /// The replication topic.
    public let topic: String
    public let reason: String
    public let removedMs: Int64
}

extension EntryStore {
    /// Collapses tombstones removed more than `age` ms ago into the low-water marks of their
    /// feeds (PROTOCOL.md §8), so the store stays bounded: per replication topic and author,
    /// every such tombstone below the lowest entry still held there and below the lowest
    /// younger tombstone goes, and the mark moves above the highest of them. Below its mark
    /// a node holds and asks for nothing, and refuses what arrives. The tombstone of an
    /// author's newest seq stays (an own feed continues from its id). Returns how many
    /// tombstones collapsed.
    @discardableResult
    public func collapseTombstones(olderThanMs age: Int64) async throws(PlexusError) -> Int {
        let cutoffMs = clock() - age
        do {
            return try await pool.write { db in
                // Per feed, the bounds below which old tombstones collapse, found once each.
                let collapsible = try Row.fetchAll(
                    db,
                    sql: """
                        WITH young AS (
                            SELECT topic, author, min(seq) AS low FROM tombstones WHERE removed_ms >= :cutoff GROUP BY topic, author
                        )
                        SELECT t.topic, t.author, max(t.seq) AS top FROM tombstones t
                        LEFT JOIN young y ON y.topic = t.topic AND y.author = t.author
                        LEFT JOIN topic_heads h ON h.topic = t.topic AND h.author = t.author AND h.count > 0
                        LEFT JOIN authors a ON a.author = t.author
                        WHERE t.removed_ms < :cutoff
                          AND t.seq < COALESCE(h.min_seq, 9223372036854775807)
                          AND t.seq < COALESCE(y.low, 9223372036854775807)
                          AND t.seq < COALESCE(a.max_seq, 9223372036854775807)
                        GROUP BY t.topic, t.author
                        """,
                    arguments: ["cutoff": cutoffMs])
                var collapsed = 0
                for row in collapsible {
                    let topic: String = row["topic"]
                    let author: Data = row["author"]
                    let top: Int64 = row["top"]
                    try db.execute(
                        sql: """
                            INSERT INTO feed_marks (topic, author, retained_from) VALUES (?, ?, ?)
                            ON CONFLICT (topic, author) DO UPDATE SET retained_from = max(retained_from, excluded.retained_from)
                            """,
                        arguments: [topic, author, top + 1])
                    try db.execute(
                        sql: "DELETE FROM tombstones WHERE topic = ? AND author = ? AND seq <= ? AND removed_ms < ?",
                        arguments: [topic, author, top, cutoffMs])
                    collapsed += db.changesCount
                }
                return collapsed
            }
        } catch {
            throw PlexusError(.internal, "collapsing tombstones failed: \(error)")
        }
    }

    /// The seq below which this node keeps nothing of `author` in a replication topic (1
    /// when it has no mark there).
    public func retainedFrom(author: AgentID, topic: String) async throws(PlexusError) -> UInt64 {
        try await read { db in
            let mark = try Int64.fetchOne(
                db, sql: "SELECT retained_from FROM feed_marks WHERE topic = ? AND author = ?", arguments: [topic, author.bytes.asData])
            return UInt64(max(1, mark ?? 1))
        }
    }

    /// The tombstone of an entry id, nil when the id is not tombstoned here (never held, or
    /// collapsed into its feed's low-water mark).
    public func tombstone(_ id: EntryID) async throws(PlexusError) -> Tombstone? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM tombstones WHERE id = ?", arguments: [id.bytes.asData]).flatMap { row in
                guard let author = AgentID(bytes: row["author"] as Data) else { return nil }
                return Tombstone(
                    id: id, author: author, seq: UInt64(max(0, row["seq"] as Int64)), prev: (row["prev"] as Data?).flatMap { EntryID(bytes: $0) },
                    topic: row["topic"], reason: row["reason"], removedMs: row["removed_ms"])
            }
        }
    }
}
