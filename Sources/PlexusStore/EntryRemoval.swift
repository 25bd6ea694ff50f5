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
                INSERT OR IGNORE INTO tombstones (id, author, seq, topic, reason, removed_ms)
                SELECT id, author, seq, CASE topic WHEN '' THEN 'mesh' ELSE topic END, ?, ?
                FROM entries WHERE cursor IN (\(marks))
                """,
            arguments: [reason, nowMs] + list)
        let touched = try Row.fetchAll(
            db, sql: "SELECT DISTINCT CASE topic WHEN '' THEN 'mesh' ELSE topic END AS topic, author FROM entries WHERE cursor IN (\(marks))",
            arguments: list)
        try db.execute(sql: "DELETE FROM entry_fts WHERE rowid IN (\(marks))", arguments: list)
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
