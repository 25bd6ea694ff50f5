import Foundation
import GRDB
import PlexusCore

/// What the store offers of one author in one topic (PROTOCOL.md §8): the highest and
/// lowest seq held and how many entries are held. Tombstoned entries are not offered.
public struct TopicHead: Sendable, Equatable {
    public let author: AgentID
    public let maxSeq: UInt64
    public let count: UInt64
    public let minSeq: UInt64
}

/// What the store accounts for of one author's feed in a topic — held, or dropped here by
/// choice (deleted; not expired: an expired entry is never offered by anyone, so counting
/// it would hide an entry that is missing beside it): the highest such seq, and how many
/// such seqs lie in the range asked about.
public struct FeedAccounting: Sendable, Equatable {
    public let maxSeq: UInt64
    public let countInRange: UInt64
    /// The low-water mark: below it this node keeps and asks for nothing (1 without one).
    public let retainedFrom: UInt64
}

extension EntryStore {
    /// Every author's head in a replication topic, sorted by author.
    public func topicHeads(_ topic: String) async throws(PlexusError) -> [TopicHead] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT author, max_seq, count, min_seq FROM topic_heads WHERE topic = ? AND count > 0 ORDER BY author"),
                arguments: [topic]
            ).compactMap { row in
                AgentID(bytes: row["author"] as Data).map {
                    TopicHead(
                        author: $0, maxSeq: UInt64(max(0, row["max_seq"] as Int64)), count: UInt64(max(0, row["count"] as Int64)),
                        minSeq: UInt64(max(1, row["min_seq"] as Int64)))
                }
            }
        }
    }

    /// For each `(author, from, seq)` (a head learned from a peer), what this node accounts
    /// for of that feed in the replication topic (`FeedAccounting`): its low-water mark
    /// there, its highest such seq (at least just below the mark), and how many lie in
    /// `max(from, mark) ... min(seq, that highest)`. Authors whose feed forked here are left
    /// out: nothing more of theirs is accepted.
    public func accounting(topic: String, of heads: [(author: AgentID, from: UInt64, seq: UInt64)]) async throws(PlexusError) -> [AgentID: FeedAccounting] {
        guard !heads.isEmpty else { return [:] }
        let stored = Self.storedTopic(topic)
        return try await read { db in
            var result: [AgentID: FeedAccounting] = [:]
            let forked = try db.cachedStatement(sql: "SELECT 1 FROM authors WHERE author = ? AND forked_seq IS NOT NULL")
            let heldMax = try db.cachedStatement(sql: "SELECT max(seq) FROM entries WHERE author = ? AND topic IN (?, ?)")
            let goneMax = try db.cachedStatement(
                sql: "SELECT max(seq) FROM tombstones WHERE author = ? AND topic IN (?, ?) AND reason != 'expired'")
            let heldIn = try db.cachedStatement(
                sql: "SELECT count(*) FROM entries WHERE author = ? AND topic IN (?, ?) AND seq BETWEEN ? AND ?")
            let goneIn = try db.cachedStatement(
                sql: "SELECT count(DISTINCT seq) FROM tombstones WHERE author = ? AND topic IN (?, ?) AND reason != 'expired' AND seq BETWEEN ? AND ?")
            let markOf = try db.cachedStatement(sql: "SELECT retained_from FROM feed_marks WHERE topic = ? AND author = ?")
            for head in heads {
                let author = head.author.bytes.asData
                if try Bool.fetchOne(forked, arguments: [author]) == true { continue }
                let mark = max(1, try Int64.fetchOne(markOf, arguments: [topic, author]) ?? 1)
                let maxSeq = max(
                    try Int64.fetchOne(heldMax, arguments: [author, topic, stored]) ?? 0,
                    try Int64.fetchOne(goneMax, arguments: [author, topic, stored]) ?? 0,
                    mark - 1)
                let upper = min(Int64(clamping: head.seq), maxSeq)
                let lower = max(Int64(clamping: max(head.from, 1)), mark)
                var count: Int64 = 0
                if lower <= upper {
                    count = (try Int64.fetchOne(heldIn, arguments: [author, topic, stored, lower, upper]) ?? 0)
                        + (try Int64.fetchOne(goneIn, arguments: [author, topic, stored, lower, upper]) ?? 0)
                }
                result[head.author] = FeedAccounting(
                    maxSeq: UInt64(max(0, maxSeq)), countInRange: UInt64(max(0, count)), retainedFrom: UInt64(mark))
            }
            return result
        }
    }

    /// How many entries of `author` in a replication topic with seq in `from ... through`
    /// this node holds and offers (unexpired).
    public func offeredCount(author: AgentID, topic: String, from: UInt64, through seq: UInt64) async throws(PlexusError) -> UInt64 {
        guard from <= seq else { return 0 }
        let arguments: StatementArguments = [
            author.bytes.asData, topic, Self.storedTopic(topic), Int64(clamping: from), Int64(clamping: seq), clock(),
        ]
        return try await read { db in
            let held = try Int64.fetchOne(
                db.cachedStatement(sql: """
                    SELECT count(*) FROM entries WHERE author = ? AND topic IN (?, ?) AND seq BETWEEN ? AND ?
                    AND (expires_ms IS NULL OR expires_ms > ?)
                    """),
                arguments: arguments) ?? 0
            return UInt64(max(0, held))
        }
    }

    /// Up to `limit` unexpired entries of `author` in a replication topic after seq
    /// `after`, in seq order, as protobuf `Entry` bytes.
    public func encodedEntries(author: AgentID, topic: String, after: UInt64, limit: Int) async throws(PlexusError) -> [(seq: UInt64, encoded: Data)] {
        let arguments: StatementArguments = [
            author.bytes.asData, topic, Self.storedTopic(topic), Int64(clamping: after), clock(), limit,
        ]
        return try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT seq, body, signature FROM entries
                    WHERE author = ? AND topic IN (?, ?) AND seq > ? AND (expires_ms IS NULL OR expires_ms > ?)
                    ORDER BY seq LIMIT ?
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
    static func storedTopic(_ topic: String) -> String {
        topic == TopicName.mesh ? "" : topic
    }
}
