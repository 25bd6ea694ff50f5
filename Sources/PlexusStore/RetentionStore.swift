import Foundation
import GRDB
import PlexusCore

/// Retention (DESIGN §14, PROTOCOL.md §2.5): the policies added at run time, and the sweep
/// that applies a policy to the stored entries. What a sweep removes leaves a tombstone
/// (reason `retention`), so the entry is never accepted or fetched again, and the heads of
/// the feeds it touched are counted again from what is held.
public struct RetentionStore: Sendable {
    /// A policy as the sweep applies it.
    public struct Rule: Sendable {
        public var topic: String?
        public var author: AgentID?
        public var maxAgeMs: Int64?
        public var maxCount: Int64?
        public var compactKey: JSONPath?

        public init(topic: String?, author: AgentID?, maxAgeMs: Int64?, maxCount: Int64?, compactKey: JSONPath?) {
            self.topic = topic
            self.author = author
            self.maxAgeMs = maxAgeMs
            self.maxCount = maxCount
            self.compactKey = compactKey
        }
    }

    /// A stored policy.
    public struct Stored: Sendable, Equatable {
        public var id: Int64
        public var request: RetentionPolicyRequest
        public var createdMs: Int64
    }

    private let pool: DatabasePool
    private let clock: @Sendable () -> Int64

    init(pool: DatabasePool, clock: @escaping @Sendable () -> Int64) {
        self.pool = pool
        self.clock = clock
    }

    // MARK: - Policies

    public func policies() async throws(PlexusError) -> [Stored] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM retention_policies ORDER BY id").map { row in
                Stored(
                    id: row["id"],
                    request: RetentionPolicyRequest(
                        topic: row["topic"], author: (row["author"] as Data?).flatMap(AgentID.init(bytes:)), maxAgeS: row["max_age_s"],
                        maxCount: row["max_count"], compactKey: row["compact_key"]),
                    createdMs: row["created_ms"])
            }
        }
    }

    public func add(_ request: RetentionPolicyRequest) async throws(PlexusError) -> Stored {
        let now = clock()
        let id = try await write { db in
            try db.execute(
                sql: "INSERT INTO retention_policies (topic, author, max_age_s, max_count, compact_key, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [request.topic, request.author?.bytes.asData, request.maxAgeS, request.maxCount, request.compactKey, now])
            return db.lastInsertedRowID
        }
        return Stored(id: id, request: request, createdMs: now)
    }

    /// Deletes a policy; false when there was none with that id.
    @discardableResult
    public func remove(_ id: Int64) async throws(PlexusError) -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM retention_policies WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    // MARK: - Sweep

    /// Removes what `rule` does not keep, leaving tombstones; returns how many entries.
    /// Entries by `keeping` are out of scope unless the rule names that author, and so are
    /// topics starting with `excludedPrefix` (private groups keep by the group's policy).
    public func sweep(_ rule: Rule, keeping own: AgentID, excludedPrefix: String) async throws(PlexusError) -> Int {
        var conditions = ["substr(topic, 1, ?) != ?"]
        var arguments: StatementArguments = [excludedPrefix.count, excludedPrefix]
        if let topic = rule.topic {
            conditions.append("topic IN (?, ?)")
            arguments += [topic, EntryStore.storedTopic(topic)]
        }
        if let author = rule.author {
            conditions.append("author = ?")
            arguments += [author.bytes.asData]
        }
        if rule.author != own {  // own entries only when the rule names this agent
            conditions.append("author != ?")
            arguments += [own.bytes.asData]
        }
        let now = clock()
        let (scopeSQL, scopeArguments) = (conditions.joined(separator: " AND "), arguments)
        let candidates: [Int64] = try await read { db in
            var cursors: Set<Int64> = []
            if let maxAgeMs = rule.maxAgeMs {
                cursors.formUnion(try Int64.fetchAll(
                    db, sql: "SELECT cursor FROM entries WHERE \(scopeSQL) AND received_ms < ?",
                    arguments: scopeArguments + [now - maxAgeMs]))
            }
            if let maxCount = rule.maxCount {
                cursors.formUnion(try Int64.fetchAll(
                    db, sql: """
                        SELECT cursor FROM (
                            SELECT cursor, row_number() OVER (PARTITION BY CASE topic WHEN '' THEN 'mesh' ELSE topic END ORDER BY cursor DESC) AS n
                            FROM entries WHERE \(scopeSQL)
                        ) WHERE n > ?
                        """,
                    arguments: scopeArguments + [maxCount]))
            }
            if let path = rule.compactKey {
                // The newest entry per topic and value at the path stays; entries without a
                // value there are not compacted.
                var seen: Set<String> = []
                let rows = try Row.fetchCursor(
                    db, sql: "SELECT cursor, topic, body, signature FROM entries WHERE \(scopeSQL) ORDER BY cursor DESC", arguments: scopeArguments)
                while let row = try rows.next() {
                    guard let entry = try? StoredRows.entry(body: row["body"], signature: row["signature"]),
                          let json = entry.contentJSON, let value = path.value(in: json)
                    else { continue }
                    let topic: String = row["topic"]
                    let key = topic + "\u{0}" + String(decoding: value.canonicalData(), as: UTF8.self)
                    if !seen.insert(key).inserted { cursors.insert(row["cursor"]) }
                }
            }
            return cursors.sorted()
        }
        var removed = 0
        for start in stride(from: 0, to: candidates.count, by: EntryStore.removalBatch) {
            let slice = Array(candidates[start..<min(start + EntryStore.removalBatch, candidates.count)])
            removed += try await write { db in try EntryStore.remove(slice, reason: "retention", nowMs: now, in: db) }
        }
        return removed
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(PlexusError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw PlexusError(.internal, "cannot read retention: \(error)")
        }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(PlexusError) -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw PlexusError(.internal, "cannot apply retention: \(error)")
        }
    }
}
