import GRDB
import PlexusCore

extension EntryStore {
    /// Each author's highest-seq unexpired entry of `type` (announcements: an agent's latest
    /// record), newest first, at most `limit`; only `author`'s when given.
    public func latestPerAuthor(
        type: String, nowMs: Int64, author: AgentID? = nil, limit: Int = 10_000
    ) async throws(PlexusError) -> [StoredEntry] {
        var arguments: StatementArguments = [type, nowMs]
        var authorCondition = ""
        if let author {
            authorCondition = " AND author = ?"
            _ = arguments.append(contentsOf: [author.bytes.asData])
        }
        // SQLite's bare-column rule: with max(seq), `cursor` comes from the row holding it.
        let sql = Self.selectEntries + """
             WHERE e.cursor IN (
                SELECT cursor FROM (
                    SELECT cursor, max(seq) FROM entries
                    WHERE type = ? AND (expires_ms IS NULL OR expires_ms > ?)\(authorCondition)
                    GROUP BY author))
            ORDER BY e.time_ms DESC LIMIT \(max(1, limit))
            """
        let fixed = arguments
        return try await read { db in try Row.fetchAll(db, sql: sql, arguments: fixed).map(StoredRows.stored) }
    }
}
