import Foundation
import GRDB
import PlexusCore

/// What a node follows: the topics it is in besides `mesh`, and the authors it stores
/// (every author when the list is empty). Kept in the store so they survive restarts.
public struct Interests: Sendable {
    private let pool: DatabasePool
    private let clock: @Sendable () -> Int64

    init(pool: DatabasePool, clock: @escaping @Sendable () -> Int64) {
        self.pool = pool
        self.clock = clock
    }

    /// Subscribed topics, by name.
    public func topics() async throws(PlexusError) -> [String] {
        try await read { db in try String.fetchAll(db, sql: "SELECT topic FROM subscriptions ORDER BY topic") }
    }

    /// Adds a topic; returns false when it was already there.
    @discardableResult
    public func subscribe(_ topic: String) async throws(PlexusError) -> Bool {
        let now = clock()
        return try await write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO subscriptions (topic, added_ms) VALUES (?, ?)", arguments: [topic, now])
            return db.changesCount > 0
        }
    }

    /// Removes a topic; returns false when it was not there.
    @discardableResult
    public func unsubscribe(_ topic: String) async throws(PlexusError) -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM subscriptions WHERE topic = ?", arguments: [topic])
            return db.changesCount > 0
        }
    }

    /// Followed authors, in the order they were followed.
    public func follows() async throws(PlexusError) -> [AgentID] {
        try await read { db in
            try Data.fetchAll(db, sql: "SELECT author FROM follows ORDER BY added_ms, author").compactMap { AgentID(bytes: $0) }
        }
    }

    /// Follows an author; returns false when it was already followed.
    @discardableResult
    public func follow(_ author: AgentID) async throws(PlexusError) -> Bool {
        let now = clock()
        return try await write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO follows (author, added_ms) VALUES (?, ?)", arguments: [author.bytes.asData, now])
            return db.changesCount > 0
        }
    }

    /// Stops following an author; returns false when it was not followed.
    @discardableResult
    public func unfollow(_ author: AgentID) async throws(PlexusError) -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM follows WHERE author = ?", arguments: [author.bytes.asData])
            return db.changesCount > 0
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(PlexusError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw PlexusError(.internal, "cannot read subscriptions or follows: \(error)")
        }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(PlexusError) -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw PlexusError(.internal, "cannot update subscriptions or follows: \(error)")
        }
    }
}
