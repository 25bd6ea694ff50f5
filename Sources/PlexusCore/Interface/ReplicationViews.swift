/// A topic this node is in, as `plexus topics` and `GET /v1/topics` show it.
public struct TopicView: Sendable, Equatable, Codable {
    public var name: String
    /// The topic's overlay neighbours (HyParView active view): who entries are pushed to.
    public var neighbors: [AgentID]
    /// Known members held in reserve (passive view size).
    public var reserve: Int
    /// Entries held in this topic.
    public var entries: Int

    public init(name: String, neighbors: [AgentID], reserve: Int, entries: Int) {
        self.name = name
        self.neighbors = neighbors
        self.reserve = reserve
        self.entries = entries
    }
}

/// The body of `POST /v1/topics`.
public struct SubscribeRequest: Sendable, Equatable, Codable {
    public var topic: String

    public init(topic: String) {
        self.topic = topic
    }
}

/// The authors this node stores, as `plexus follows` and `GET /v1/follows` show them.
public struct FollowsView: Sendable, Equatable, Codable {
    /// Followed authors. Empty means the node stores every author.
    public var authors: [AgentID]
    /// Whether every author is stored (no follows).
    public var storesAll: Bool

    public init(authors: [AgentID]) {
        self.authors = authors
        self.storesAll = authors.isEmpty
    }

    enum CodingKeys: String, CodingKey {
        case authors, storesAll = "stores_all"
    }
}

/// The body of `POST /v1/follows`.
public struct FollowRequest: Sendable, Equatable, Codable {
    public var author: AgentID

    public init(author: AgentID) {
        self.author = author
    }
}

/// Anti-entropy with one neighbour in one topic, as `plexus sync` and `GET /v1/sync` show it.
public struct SyncView: Sendable, Equatable, Codable {
    public var peer: AgentID
    public var topic: String
    /// Reconciliation rounds with this neighbour, opened by either side.
    public var rounds: Int
    /// When the last round opened (ms since the epoch, local clock).
    public var lastRoundMs: Int64?
    /// Entries received from / sent to this neighbour by anti-entropy.
    public var entriesReceived: Int
    public var entriesSent: Int
    /// Feeds the neighbour asked for that are still being streamed to it.
    public var sending: Int
    /// Feeds this node asked the neighbour for in the last round, and in all.
    public var requested: Int
    public var wantsSent: Int
    /// Bytes the neighbour may still send us before we replenish its credit.
    public var creditGranted: Int
    /// Bytes we may still send the neighbour.
    public var creditAvailable: Int

    public init(peer: AgentID, topic: String) {
        self.peer = peer
        self.topic = topic
        self.rounds = 0
        self.entriesReceived = 0
        self.entriesSent = 0
        self.sending = 0
        self.requested = 0
        self.wantsSent = 0
        self.creditGranted = 0
        self.creditAvailable = 0
    }

    enum CodingKeys: String, CodingKey {
        case peer, topic, rounds, lastRoundMs = "last_round_ms", entriesReceived = "entries_received"
        case entriesSent = "entries_sent", sending, requested, wantsSent = "wants_sent", creditGranted = "credit_granted"
        case creditAvailable = "credit_available"
    }
}
