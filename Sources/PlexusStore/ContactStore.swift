import Foundation
import GRDB
import PlexusCore

/// Contacts (DESIGN §15): one row per agent an operator named, with its trust.
public struct ContactStore: Sendable {
    private let pool: DatabasePool
    private let clock: @Sendable () -> Int64

    init(pool: DatabasePool, clock: @escaping @Sendable () -> Int64) {
        self.pool = pool
        self.clock = clock
    }

    /// Every contact, by name (unnamed last) then id.
    public func all() async throws(PlexusError) -> [ContactView] {
        try await pool.reading("contacts") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM contacts ORDER BY name IS NULL, name, agent").compactMap(Self.view)
        }
    }

    /// Adds or changes a contact: a nil name or trust keeps what the contact had (a new
    /// one is `known`, unnamed).
    public func upsert(_ request: ContactRequest) async throws(PlexusError) -> ContactView {
        let now = clock()
        let key = request.agent.bytes.asData
        return try await pool.writing("contacts") { db in
            let existing = try Row.fetchOne(db, sql: "SELECT * FROM contacts WHERE agent = ?", arguments: [key]).flatMap(Self.view)
            let view = ContactView(
                agent: request.agent, name: request.name ?? existing?.name, trust: request.trust ?? existing?.trust ?? .known,
                addedMs: existing?.addedMs ?? now, updatedMs: now)
            try db.execute(
                sql: """
                    INSERT INTO contacts (agent, name, trust, added_ms, updated_ms) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (agent) DO UPDATE SET name = excluded.name, trust = excluded.trust, updated_ms = excluded.updated_ms
                    """,
                arguments: [key, view.name, view.trust.rawValue, view.addedMs, view.updatedMs])
            return view
        }
    }

    /// Removes a contact; nil when there was none.
    public func remove(_ agent: AgentID) async throws(PlexusError) -> ContactView? {
        let key = agent.bytes.asData
        return try await pool.writing("contacts") { db in
            let existing = try Row.fetchOne(db, sql: "SELECT * FROM contacts WHERE agent = ?", arguments: [key]).flatMap(Self.view)
            try db.execute(sql: "DELETE FROM contacts WHERE agent = ?", arguments: [key])
            return existing
        }
    }

    private static func view(_ row: Row) -> ContactView? {
        guard let agent = AgentID(bytes: row["agent"] as Data), let trust = Trust(rawValue: row["trust"]) else { return nil }
        return ContactView(agent: agent, name: row["name"], trust: trust, addedMs: row["added_ms"], updatedMs: row["updated_ms"])
    }
}

extension DatabasePool {
    /// A read whose failure is the node's own (`internal`), naming `what` was read.
    func reading<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(PlexusError) -> T {
        do {
            return try await read(body)
        } catch {
            throw PlexusError(.internal, "cannot read \(what): \(error)")
        }
    }

    /// A write whose failure is the node's own (`internal`), naming `what` was written.
    func writing<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(PlexusError) -> T {
        do {
            return try await write(body)
        } catch {
            throw PlexusError(.internal, "cannot write \(what): \(error)")
        }
    }
}
