import Foundation
import GRDB
import PlexusCore

/// The private groups this node is in and the epoch keys it holds for them (PROTOCOL.md
/// §13). Keys arrive here already sealed under the node's key; this type never sees one
/// in the clear.
public struct GroupStore: Sendable {
    /// One group this node is in.
    public struct Membership: Sendable, Equatable {
        public let id: EntryID
        public let topic: String
        public let name: String
        public let addedMs: Int64
        /// The agent whose welcome brought this node in (nil for the creator).
        public let welcomedBy: AgentID?

        public init(id: EntryID, topic: String, name: String, addedMs: Int64, welcomedBy: AgentID? = nil) {
            self.id = id
            self.topic = topic
            self.name = name
            self.addedMs = addedMs
            self.welcomedBy = welcomedBy
        }
    }

    private let pool: DatabasePool

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Every group, oldest first.
    public func groups() async throws(PlexusError) -> [Membership] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT id, topic, name, added_ms, welcomed_by FROM groups ORDER BY added_ms, id").compactMap { row in
                EntryID(bytes: row["id"] as Data).map {
                    Membership(
                        id: $0, topic: row["topic"], name: row["name"], addedMs: row["added_ms"],
                        welcomedBy: (row["welcomed_by"] as Data?).flatMap { AgentID(bytes: $0) })
                }
            }
        }
    }

    /// Records a group (its name is updated when it is known already).
    public func save(_ group: Membership) async throws(PlexusError) {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO groups (id, topic, name, added_ms, welcomed_by) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET name = excluded.name
                    """,
                arguments: [group.id.bytes.asData, group.topic, group.name, group.addedMs, group.welcomedBy?.bytes.asData])
        }
    }

    /// Forgets a group and its keys (after leaving it or being removed).
    public func forget(_ group: EntryID) async throws(PlexusError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM groups WHERE id = ?", arguments: [group.bytes.asData])
            try db.execute(sql: "DELETE FROM group_keys WHERE group_id = ?", arguments: [group.bytes.asData])
        }
    }

    /// The sealed epoch keys of a group, by epoch.
    public func sealedKeys(of group: EntryID) async throws(PlexusError) -> [EntryID: Data] {
        try await read { db in
            var keys: [EntryID: Data] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT epoch, sealed FROM group_keys WHERE group_id = ?", arguments: [group.bytes.asData]) {
                if let epoch = EntryID(bytes: row["epoch"] as Data) { keys[epoch] = row["sealed"] }
            }
            return keys
        }
    }

    /// Keeps sealed epoch keys (one already held is left as it is).
    public func saveSealedKeys(_ keys: [EntryID: Data], of group: EntryID) async throws(PlexusError) {
        guard !keys.isEmpty else { return }
        try await write { db in
            for (epoch, sealed) in keys {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO group_keys (group_id, epoch, sealed) VALUES (?, ?, ?)",
                    arguments: [group.bytes.asData, epoch.bytes.asData, sealed])
            }
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(PlexusError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw PlexusError(.internal, "cannot read groups: \(error)")
        }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(PlexusError) -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw PlexusError(.internal, "cannot update groups: \(error)")
        }
    }
}
