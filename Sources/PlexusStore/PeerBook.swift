import Foundation
import GRDB
import PlexusCore

/// The mesh addresses a node remembers, so that it redials them after a restart.
public struct PeerBook: Sendable {
    /// One remembered address.
    public struct Peer: Sendable, Equatable {
        public let address: String
        /// Who answered there last, if anyone has.
        public let agentID: AgentID?
        public let lastConnectedMs: Int64?
    }

    private let pool: DatabasePool
    private let clock: @Sendable () -> Int64

    init(pool: DatabasePool, clock: @escaping @Sendable () -> Int64) {
        self.pool = pool
        self.clock = clock
    }

    /// Adds an address (idempotent).
    public func remember(_ address: String) async throws(PlexusError) {
        let now = clock()
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO peers (address, added_ms) VALUES (?, ?)
                    ON CONFLICT (address) DO UPDATE SET forgotten = 0
                    """,
                arguments: [address, now])
        }
    }

    /// Records a completed handshake at `address`.
    public func connected(_ address: String, agent: AgentID) async throws(PlexusError) {
        let now = clock()
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO peers (address, agent_id, added_ms, last_connected_ms) VALUES (?, ?, ?, ?)
                    ON CONFLICT (address) DO UPDATE SET agent_id = excluded.agent_id, last_connected_ms = excluded.last_connected_ms
                    WHERE forgotten = 0
                    """,
                arguments: [address, agent.bytes.asData, now, now])
        }
    }

    /// Forgets `address`; returns whether it was remembered.
    public func forget(_ address: String) async throws(PlexusError) -> Bool {
        do {
            return try await pool.write { db in
                try db.execute(sql: "UPDATE peers SET forgotten = 1 WHERE address = ? AND forgotten = 0", arguments: [address])
                return db.changesCount > 0
            }
        } catch {
            throw PlexusError(.internal, "cannot update remembered peers: \(error)")
        }
    }

    /// Every remembered address, oldest first.
    public func all() async throws(PlexusError) -> [Peer] {
        do {
            return try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT address, agent_id, last_connected_ms FROM peers WHERE forgotten = 0 ORDER BY added_ms").map { row in
                    Peer(
                        address: row["address"],
                        agentID: (row["agent_id"] as Data?).flatMap { AgentID(bytes: $0) },
                        lastConnectedMs: row["last_connected_ms"])
                }
            }
        } catch {
            throw PlexusError(.internal, "cannot read remembered peers: \(error)")
        }
    }

    private func write(_ body: @escaping @Sendable (Database) throws -> Void) async throws(PlexusError) {
        do {
            try await pool.write(body)
        } catch {
            throw PlexusError(.internal, "cannot update remembered peers: \(error)")
        }
    }
}
