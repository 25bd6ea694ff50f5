import Foundation
import GRDB
import PlexusCore

/// Direct messages (PROTOCOL.md §16) as this node keeps them: ciphertext only, one row per
/// message and direction, in local order (`seq`). The outbox is the sent rows still
/// `pending`; `arrivals` moves with every new row, for readers that wait.
public struct DirectStore: Sendable {
    /// A stored message: what the node needs to show it (after opening `sealed`) or send it.
    public struct Record: Sendable, Equatable {
        public var seq: Int64
        public var id: DirectID
        public var peer: AgentID
        public var outgoing: Bool
        public var timeMs: Int64
        public var receivedMs: Int64
        /// A `DirectMessage` (protobuf) sealed to this agent.
        public var sealed: Data
        public var state: DirectMessageView.State
        public var readMs: Int64?
        public var attempts: Int
        public var nextAttemptMs: Int64?
        public var expiresMs: Int64?
        public var lastError: String?
        /// The signed `Direct` frame of a sent message still in the outbox.
        public var frame: Data?
    }

    /// The most sent messages waiting for acknowledgement at once.
    public static let maxOutbox = 1000

    private let pool: DatabasePool
    /// The newest `seq`.
    public let arrivals: ArrivalSignal

    init(pool: DatabasePool) throws {
        self.pool = pool
        arrivals = ArrivalSignal(latest: try pool.read { db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM direct_messages") ?? 0 })
    }

    /// Stores a received message; nil when this sender's message with this id is held
    /// already (a retry or a replay).
    public func receive(
        id: DirectID, from peer: AgentID, timeMs: Int64, receivedMs: Int64, sealed: Data, state: DirectMessageView.State
    ) async throws(PlexusError) -> Record? {
        let record = try await pool.writing("direct messages") { db -> Record? in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO direct_messages (id, peer, outgoing, time_ms, received_ms, sealed, state)
                    VALUES (?, ?, 0, ?, ?, ?, ?)
                    """,
                arguments: [Data(id.bytes), peer.bytes.asData, timeMs, receivedMs, sealed, state.rawValue])
            guard db.changesCount > 0 else { return nil }
            return try Row.fetchOne(db, sql: "SELECT * FROM direct_messages WHERE seq = ?", arguments: [db.lastInsertedRowID]).flatMap(Self.record)
        }
        if let record { await arrivals.advance(to: record.seq) }
        return record
    }

    /// Puts a sent message in the outbox; `resourceExhausted` when the outbox is full.
    public func send(
        id: DirectID, to peer: AgentID, timeMs: Int64, sealed: Data, frame: Data, expiresMs: Int64
    ) async throws(PlexusError) -> Record {
        let record = try await pool.writing("direct messages") { db -> Record? in
            let waiting = try Int.fetchOne(db, sql: "SELECT count(*) FROM direct_messages WHERE state = 'pending'") ?? 0
            guard waiting < Self.maxOutbox else { return nil }
            try db.execute(
                sql: """
                    INSERT INTO direct_messages (id, peer, outgoing, time_ms, received_ms, sealed, state, next_attempt_ms, expires_ms, frame)
                    VALUES (?, ?, 1, ?, ?, ?, 'pending', ?, ?, ?)
                    """,
                arguments: [Data(id.bytes), peer.bytes.asData, timeMs, timeMs, sealed, timeMs, expiresMs, frame])
            return try Row.fetchOne(db, sql: "SELECT * FROM direct_messages WHERE seq = ?", arguments: [db.lastInsertedRowID]).flatMap(Self.record)
        }
        guard let record else {
            throw PlexusError(.resourceExhausted, "\(Self.maxOutbox) messages already wait in the outbox for their recipients")
        }
        await arrivals.advance(to: record.seq)
        return record
    }

    /// Outbox messages due for another try by `nowMs` (or, with `peer`, all of that peer's).
    public func due(by nowMs: Int64, peer: AgentID? = nil, limit: Int = 100) async throws(PlexusError) -> [Record] {
        try await pool.reading("the outbox") { db in
            if let peer {
                return try Row.fetchAll(
                    db, sql: "SELECT * FROM direct_messages WHERE state = 'pending' AND peer = ? ORDER BY seq LIMIT ?",
                    arguments: [peer.bytes.asData, limit]
                ).compactMap(Self.record)
            }
            return try Row.fetchAll(
                db, sql: "SELECT * FROM direct_messages WHERE state = 'pending' AND next_attempt_ms <= ? ORDER BY next_attempt_ms LIMIT ?",
                arguments: [nowMs, limit]
            ).compactMap(Self.record)
        }
    }

    /// When the outbox next has something due.
    public func nextDue() async throws(PlexusError) -> Int64? {
        try await pool.reading("the outbox") { db in
            try Int64.fetchOne(db, sql: "SELECT min(next_attempt_ms) FROM direct_messages WHERE state = 'pending'")
        }
    }

    /// A try that was not acknowledged (yet): the next one is at `nextAttemptMs`.
    public func tried(_ seq: Int64, nextAttemptMs: Int64, error: String?) async throws(PlexusError) {
        try await pool.writing("the outbox") { db in
            try db.execute(
                sql: "UPDATE direct_messages SET attempts = attempts + 1, next_attempt_ms = ?, last_error = ? WHERE seq = ? AND state = 'pending'",
                arguments: [nextAttemptMs, error, seq])
        }
    }

    /// The recipient's answer to a sent message: `delivered` or `refused`. Returns the record
    /// when it changed (an answer for a message not pending changes nothing).
    public func answered(_ id: DirectID, by peer: AgentID, refusal: String?) async throws(PlexusError) -> Record? {
        try await pool.writing("the outbox") { db -> Record? in
            try db.execute(
                sql: """
                    UPDATE direct_messages SET state = ?, last_error = ?, frame = NULL, next_attempt_ms = NULL
                    WHERE peer = ? AND id = ? AND outgoing = 1 AND state = 'pending'
                    """,
                arguments: [refusal == nil ? "delivered" : "refused", refusal, peer.bytes.asData, Data(id.bytes)])
            guard db.changesCount > 0 else { return nil }
            return try Row.fetchOne(
                db, sql: "SELECT * FROM direct_messages WHERE peer = ? AND id = ? AND outgoing = 1", arguments: [peer.bytes.asData, Data(id.bytes)]
            ).flatMap(Self.record)
        }
    }

    /// Gives up on sent messages past their expiry; returns them.
    public func expire(nowMs: Int64) async throws(PlexusError) -> [Record] {
        try await pool.writing("the outbox") { db in
            let expired = try Row.fetchAll(
                db, sql: "SELECT * FROM direct_messages WHERE state = 'pending' AND expires_ms <= ?", arguments: [nowMs]
            ).compactMap(Self.record)
            try db.execute(
                sql: "UPDATE direct_messages SET state = 'expired', frame = NULL, next_attempt_ms = NULL WHERE state = 'pending' AND expires_ms <= ?",
                arguments: [nowMs])
            return expired
        }
    }

    /// A page: newest first, or with `since` oldest first after it.
    public func page(
        with peer: AgentID?, quarantined: Bool, since: Int64?, before: Int64?, limit: Int
    ) async throws(PlexusError) -> (records: [Record], hasMore: Bool) {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let peer {
            conditions.append("peer = ?")
            _ = arguments.append(contentsOf: [peer.bytes.asData])
        }
        if quarantined { conditions.append("state = 'quarantined'") }
        if let since {
            conditions.append("seq > ?")
            _ = arguments.append(contentsOf: [since])
        }
        if let before {
            conditions.append("seq < ?")
            _ = arguments.append(contentsOf: [before])
        }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let order = since != nil ? "ASC" : "DESC"
        _ = arguments.append(contentsOf: [limit + 1])
        let sql = "SELECT * FROM direct_messages\(filter) ORDER BY seq \(order) LIMIT ?"
        let rows = try await pool.reading("direct messages") { [arguments] db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap(Self.record)
        }
        return (Array(rows.prefix(limit)), rows.count > limit)
    }

    /// The message with this id (the received one when both directions have it).
    public func message(_ id: DirectID) async throws(PlexusError) -> Record? {
        try await pool.reading("direct messages") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM direct_messages WHERE id = ? ORDER BY outgoing LIMIT 1", arguments: [Data(id.bytes)])
                .flatMap(Self.record)
        }
    }

    /// Marks a received message read (once: the first time counts).
    public func markRead(_ seq: Int64, atMs: Int64) async throws(PlexusError) {
        try await pool.writing("direct messages") { db in
            try db.execute(sql: "UPDATE direct_messages SET read_ms = ? WHERE seq = ? AND read_ms IS NULL", arguments: [atMs, seq])
        }
    }

    /// Per peer: how many messages, how many received unread, and the latest.
    public func conversations(limit: Int = 200) async throws(PlexusError) -> [(peer: AgentID, count: Int, unread: Int, last: Record)] {
        try await pool.reading("direct messages") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT d.*, c.total, c.unread FROM direct_messages d
                    JOIN (SELECT peer, max(seq) AS last, count(*) AS total,
                                 sum(CASE WHEN outgoing = 0 AND read_ms IS NULL THEN 1 ELSE 0 END) AS unread
                          FROM direct_messages GROUP BY peer) c ON d.seq = c.last
                    ORDER BY d.seq DESC LIMIT ?
                    """,
                arguments: [limit]
            ).compactMap { row in
                guard let record = Self.record(row) else { return nil }
                return (record.peer, row["total"], row["unread"], record)
            }
        }
    }

    private static func record(_ row: Row) -> Record? {
        guard let id = DirectID(bytes: row["id"] as Data), let peer = AgentID(bytes: row["peer"] as Data),
              let state = DirectMessageView.State(rawValue: row["state"])
        else { return nil }
        return Record(
            seq: row["seq"], id: id, peer: peer, outgoing: row["outgoing"], timeMs: row["time_ms"], receivedMs: row["received_ms"],
            sealed: row["sealed"], state: state, readMs: row["read_ms"], attempts: row["attempts"], nextAttemptMs: row["next_attempt_ms"],
            expiresMs: row["expires_ms"], lastError: row["last_error"], frame: row["frame"])
    }
}
