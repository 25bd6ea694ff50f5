import Foundation
import GRDB
import PlexusCore

/// What the store holds of one author in one topic: the highest seq and how many entries,
/// tombstoned ones included (so anti-entropy never asks for them again).
public struct TopicHead: Sendable, Equatable {
    public let author: AgentID
    public let maxSeq: UInt64
    public let count: UInt64
}

extension EntryStore {
    /// Every author's head in a replication topic, sorted by author.
    public func topicHeads(_ topic: String) async throws(PlexusError) -> [TopicHead] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT author, max_seq, count FROM topic_heads WHERE topic = ? ORDER BY author"),
                arguments: [topic]
            ).compactMap { row in
                AgentID(bytes: row["author"] as Data).map {
                    TopicHead(author: $0, maxSeq: UInt64(max(0, row["max_seq"] as Int64)), count: UInt64(max(0, row["count"] as Int64)))
                }
            }
        }
    }

    /// How many entries of `author` in a replication topic with seq ≤ `through` are held
    /// or tombstoned here.
    public func heldCount(author: AgentID, topic: String, through seq: UInt64) async throws(PlexusError) -> UInt64 {
        let arguments: StatementArguments = [author.bytes.asData, topic, Self.storedTopic(topic), Int64(clamping: seq)]
        return try await read { db in
            let held = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT count(*) FROM entries WHERE author = ? AND topic IN (?, ?) AND seq <= ?"),
                arguments: arguments) ?? 0
            let gone = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT count(*) FROM tombstones WHERE author = ? AND topic IN (?, ?) AND seq <= ?"),
                arguments: arguments) ?? 0
            return UInt64(max(0, held + gone))
        }
    }

    /// Up to `limit` entries of `author` in a replication topic after seq `after`, in seq
    /// order, as protobuf `Entry` bytes.
    public func encodedEntries(author: AgentID, topic: String, after: UInt64, limit: Int) async throws(PlexusError) -> [(seq: UInt64, encoded: Data)] {
        let arguments: StatementArguments = [author.bytes.asData, topic, Self.storedTopic(topic), Int64(clamping: after), limit]
        return try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT seq, body, signature FROM entries
                    WHERE author = ? AND topic IN (?, ?) AND seq > ? ORDER BY seq LIMIT ?
                    """),
                arguments: arguments
            ).map { row in
                let entry = Plexus_Entry.with {
                    $0.body = row["body"]
                    $0.signature = row["signature"]
                }
                return (UInt64(row["seq"] as Int64), (try? entry.serializedData()) ?? Data())
            }
        }
    }

    /// How many entries of a replication topic are held.
    public func count(inTopic topic: String) async throws(PlexusError) -> Int {
        let arguments: StatementArguments = [topic, Self.storedTopic(topic)]
        return try await read { db in
            try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM entries WHERE topic IN (?, ?)"), arguments: arguments) ?? 0
        }
    }

    /// The topic column value besides the replication topic itself: entries without a
    /// topic are stored with '' and replicate in `mesh`.
    private static func storedTopic(_ topic: String) -> String {
        topic == TopicName.mesh ? "" : topic
    }
}
