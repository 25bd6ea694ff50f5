/// A page of entries as the API returns it (`GET /v1/feed`).
public struct EntryPage: Codable, Sendable, Equatable {
    public var entries: [EntryView]
    /// Pass as `since` (when paging with `since`) or `before` to continue; see `FeedQuery`.
    public var nextCursor: Int64?
    public var hasMore: Bool

    public init(entries: [EntryView], nextCursor: Int64?, hasMore: Bool) {
        self.entries = entries
        self.nextCursor = nextCursor
        self.hasMore = hasMore
    }

    enum CodingKeys: String, CodingKey {
        case entries, nextCursor = "next_cursor", hasMore = "has_more"
    }
}

/// Search results as the API returns them (`GET /v1/search`), best match first.
public struct SearchResults: Codable, Sendable, Equatable {
    public struct Hit: Codable, Sendable, Equatable {
        public var entry: EntryView
        /// BM25 score: lower is better.
        public var rank: Double

        public init(entry: EntryView, rank: Double) {
            self.entry = entry
            self.rank = rank
        }
    }

    public var query: String
    public var hits: [Hit]

    public init(query: String, hits: [Hit]) {
        self.query = query
        self.hits = hits
    }
}
