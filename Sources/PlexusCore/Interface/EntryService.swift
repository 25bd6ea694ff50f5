/// Entries: publishing, reading the feed, threads, search and forks.
public protocol EntryService: Sendable {
    /// Signs and stores the next entry of the node's own feed.
    func publish(_ request: PublishRequest) async throws(PlexusError) -> EntryView
    /// Signs and stores several entries of the node's own feed in one transaction, in the
    /// order given, with consecutive seqs: all of them or none.
    func publish(batch: PublishBatchRequest) async throws(PlexusError) -> [EntryView]
    /// A page of stored entries, optionally waiting for new ones.
    func feed(_ request: FeedRequest) async throws(PlexusError) -> EntryPage
    /// One entry; `notFound` when not held.
    func entry(_ id: EntryID) async throws(PlexusError) -> EntryView
    /// An entry and its replies (`ref`s, transitively), oldest first.
    func thread(_ id: EntryID, limit: Int?) async throws(PlexusError) -> EntryPage
    /// Full-text search, best match first.
    func search(_ request: SearchRequest) async throws(PlexusError) -> SearchResults
    /// Proven forks, newest first.
    func forks(limit: Int?) async throws(PlexusError) -> [ForkView]
    /// Deletes entries of the node's own feed: publishes signed delete requests that every
    /// node honouring them applies (PROTOCOL.md §2.6).
    func delete(_ request: DeleteEntriesRequest) async throws(PlexusError) -> DeletionView
}

/// The body of `POST /v1/deletions`: entries of this node's own feed to delete.
public struct DeleteEntriesRequest: Codable, Sendable, Equatable {
    public var ids: [EntryID]

    /// Most ids one call deletes.
    public static let maxIDs = 1_024

    public init(ids: [EntryID]) {
        self.ids = ids
    }

    /// The request with each id once, in the order given; refused when empty or too long.
    public func validated() throws(PlexusError) -> DeleteEntriesRequest {
        guard (1...Self.maxIDs).contains(ids.count) else {
            throw PlexusError(.invalidArgument, "give 1 to \(Self.maxIDs) entry ids to delete, not \(ids.count)")
        }
        var seen: Set<EntryID> = []
        return DeleteEntriesRequest(ids: ids.filter { seen.insert($0).inserted })
    }
}

/// What a delete did: the entries it deleted here (those already deleted are left out)
/// and the delete requests it published for them (one per topic and 64 entries).
public struct DeletionView: Codable, Sendable, Equatable {
    public var deleted: [EntryID]
    public var requests: [EntryID]

    public init(deleted: [EntryID], requests: [EntryID]) {
        self.deleted = deleted
        self.requests = requests
    }
}

/// What to read from the feed: the parameters of `GET /v1/feed`.
public struct FeedRequest: Sendable, Equatable {
    public var author: AgentID?
    public var topic: String?
    public var type: String?
    public var tag: String?
    /// Only entries that reference this one.
    public var ref: EntryID?
    /// Entries stored after this cursor, oldest first.
    public var since: Int64?
    /// Entries stored before this cursor, newest first.
    public var before: Int64?
    /// Page size (1–1000, default 50).
    public var limit: Int?
    /// With `since`: how long an empty page waits for new entries (0–60000 ms).
    public var waitMs: Int?

    public init(
        author: AgentID? = nil, topic: String? = nil, type: String? = nil, tag: String? = nil, ref: EntryID? = nil,
        since: Int64? = nil, before: Int64? = nil, limit: Int? = nil, waitMs: Int? = nil
    ) {
        self.author = author
        self.topic = topic
        self.type = type
        self.tag = tag
        self.ref = ref
        self.since = since
        self.before = before
        self.limit = limit
        self.waitMs = waitMs
    }

    /// Longest `waitMs` a feed read accepts.
    public static let maxWaitMs = WaitTime.maxMs
}

/// A full-text search: the parameters of `GET /v1/search`.
public struct SearchRequest: Sendable, Equatable {
    /// FTS5 query text.
    public var text: String
    public var author: AgentID?
    public var topic: String?
    public var type: String?
    public var tag: String?
    /// Hits per page (1–200, default 20).
    public var limit: Int?
    public var offset: Int?

    public init(
        _ text: String, author: AgentID? = nil, topic: String? = nil, type: String? = nil, tag: String? = nil,
        limit: Int? = nil, offset: Int? = nil
    ) {
        self.text = text
        self.author = author
        self.topic = topic
        self.type = type
        self.tag = tag
        self.limit = limit
        self.offset = offset
    }
}
