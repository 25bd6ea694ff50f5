import PlexusCore

/// A full-text search: words to match plus the same filters as a feed read.
///
/// The text is a list of words that must all appear (in type, tags or any string value
/// of the content); `word*` matches a prefix and a bare `OR` between words matches either.
/// Words are quoted before they reach FTS5, so no input is a syntax error.
public struct SearchQuery: Sendable, Equatable {
    public var text: String
    public var author: AgentID?
    public var topic: String?
    public var type: String?
    public var tag: String?
    public var limit: Int
    public var offset: Int

    public static let maxLimit = 200
    public static let maxTextBytes = 1024

    public init(
        _ text: String, author: AgentID? = nil, topic: String? = nil, type: String? = nil, tag: String? = nil,
        limit: Int = 20, offset: Int = 0
    ) {
        self.text = text
        self.author = author
        self.topic = topic
        self.type = type
        self.tag = tag
        self.limit = limit
        self.offset = offset
    }

    /// The FTS5 MATCH expression for `text`; nil when it has no word (only spaces, `*`, `"`
    /// or `OR`), which matches nothing.
    func matchExpression() throws(PlexusError) -> String? {
        guard text.utf8.count <= Self.maxTextBytes else {
            throw PlexusError(.tooLarge, "search text is longer than \(Self.maxTextBytes) bytes")
        }
        guard (1...Self.maxLimit).contains(limit) else {
            throw PlexusError(.invalidArgument, "limit must be between 1 and \(Self.maxLimit)")
        }
        guard (0...100_000).contains(offset) else {
            throw PlexusError(.invalidArgument, "offset must be between 0 and 100000")
        }
        var terms: [String] = []
        for word in text.split(whereSeparator: \.isWhitespace) {
            if word == "OR" {
                if let last = terms.last, last != "OR" { terms.append("OR") }
                continue
            }
            let isPrefix = word.hasSuffix("*")
            let bare = word.filter { $0 != "\"" && $0 != "*" }
            guard !bare.isEmpty else { continue }
            terms.append("\"\(bare)\"" + (isPrefix ? "*" : ""))
        }
        while terms.last == "OR" { terms.removeLast() }
        return terms.isEmpty ? nil : terms.joined(separator: " ")
    }
}

/// One search hit.
public struct SearchHit: Sendable, Equatable {
    public let entry: StoredEntry
    /// FTS5 BM25 score; lower is a better match.
    public let rank: Double
}
