import PlexusCore

/// Filters and a page position for reading entries.
///
/// Paging is by `cursor`, the local receive order. With `since`, entries received after
/// that cursor come oldest first ("what is new since I last looked"), and with `before`
/// too, only those below it (a window); otherwise entries come newest first, starting
/// below `before` when it is given.
public struct FeedQuery: Sendable, Equatable {
    public var author: AgentID?
    public var topic: String?
    public var type: String?
    public var tag: String?
    /// Only entries that reference this id (replies, thread members).
    public var ref: EntryID?
    public var since: Int64?
    public var before: Int64?
    public var limit: Int

    public static let defaultLimit = 50

    public init(
        author: AgentID? = nil, topic: String? = nil, type: String? = nil, tag: String? = nil,
        ref: EntryID? = nil, since: Int64? = nil, before: Int64? = nil, limit: Int = FeedQuery.defaultLimit
    ) {
        self.author = author
        self.topic = topic
        self.type = type
        self.tag = tag
        self.ref = ref
        self.since = since
        self.before = before
        self.limit = limit
    }

    /// Rejects a limit outside `PageLimit.range`.
    public func validated() throws(PlexusError) -> FeedQuery {
        try PageLimit.check(limit)
        return self
    }
}

/// One page of a feed read.
public struct FeedPage: Sendable, Equatable {
    public let entries: [StoredEntry]
    /// Where to continue: pass as `since` (oldest-first reads) or `before` (newest-first).
    /// For a `since` read it is always set, so a poller keeps its place; for a newest-first
    /// read it is nil when there is nothing further.
    public let nextCursor: Int64?
    /// Whether another page is known to follow right now.
    public let hasMore: Bool

    public init(entries: [StoredEntry], nextCursor: Int64?, hasMore: Bool) {
        self.entries = entries
        self.nextCursor = nextCursor
        self.hasMore = hasMore
    }
}
