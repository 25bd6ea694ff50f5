/// The body of `POST /v1/publish`. Only `content` is required; it must be a JSON object.
/// The expiry is given at most one way: `expires_ms` (ms since the epoch), `expires_at` (an
/// RFC 3339 / ISO 8601 date-time with its offset) or `ttl_s` (seconds from now).
public struct PublishRequest: Codable, Sendable, Equatable {
    public var type: String?
    public var topic: String?
    public var tags: [String]?
    public var refs: [EntryID]?
    /// Group entries only: earlier entries of this agent in the group that this one
    /// replaces (PROTOCOL.md §13.8).
    public var supersedes: [EntryID]?
    public var content: JSONValue
    public var expiresMs: UInt64?
    public var expiresAt: String?
    public var ttlSeconds: UInt64?

    public init(
        type: String? = nil, topic: String? = nil, tags: [String]? = nil, refs: [EntryID]? = nil, supersedes: [EntryID]? = nil,
        content: JSONValue, expiresMs: UInt64? = nil, expiresAt: String? = nil, ttlSeconds: UInt64? = nil
    ) {
        self.type = type
        self.topic = topic
        self.tags = tags
        self.refs = refs
        self.supersedes = supersedes
        self.content = content
        self.expiresMs = expiresMs
        self.expiresAt = expiresAt
        self.ttlSeconds = ttlSeconds
    }

    enum CodingKeys: String, CodingKey {
        case type, topic, tags, refs, supersedes, content, expiresMs = "expires_ms", expiresAt = "expires_at", ttlSeconds = "ttl_s"
    }

    /// Longest accepted `ttl_s`.
    public static let maxTTLSeconds: UInt64 = 100 * 365 * 24 * 3600

    /// The draft to publish, given the current time for `ttl_s`.
    public func draft(nowMs: Int64) throws(PlexusError) -> EntryDraft {
        guard [expiresMs != nil, expiresAt != nil, ttlSeconds != nil].filter({ $0 }).count <= 1 else {
            throw PlexusError(.invalidArgument, "give one of expires_ms, expires_at and ttl_s")
        }
        if let ttlSeconds, ttlSeconds == 0 || ttlSeconds > Self.maxTTLSeconds {
            throw PlexusError(.invalidArgument, "ttl_s must be between 1 and \(Self.maxTTLSeconds) (100 years)")
        }
        var at: UInt64?
        if let expiresAt {
            guard let milliseconds = InternetTime.milliseconds(expiresAt) else {
                throw PlexusError(
                    .invalidArgument, "expires_at must be an RFC 3339 date-time such as 2026-12-31T23:59:59Z, got '\(expiresAt.prefix(60))'")
            }
            at = UInt64(max(milliseconds, 0))  // before 1970: in the past, refused as such
        }
        let expires = expiresMs ?? at ?? ttlSeconds.map { UInt64(max(nowMs, 0)) + $0 * 1000 }
        return EntryDraft(
            type: type ?? "insight", topic: topic ?? "", tags: tags ?? [], refs: refs ?? [],
            content: content, expiresMs: expires)
    }
}

extension PublishRequest {
    /// The accepted top-level keys; any other key is refused, so a typo (`tag` for `tags`)
    /// is reported instead of silently dropped.
    public static let keys: Set<String> = ["type", "topic", "tags", "refs", "supersedes", "content", "expires_ms", "expires_at", "ttl_s"]

    /// Reads a request from parsed JSON with a precise message for each wrong field.
    public init(json: JSONValue) throws(PlexusError) {
        guard let object = json.objectValue else {
            throw PlexusError(.invalidJSON, "the request body must be a JSON object, not \(json.kindName)")
        }
        if let unknown = object.keys.sorted().first(where: { !Self.keys.contains($0) }) {
            throw PlexusError(.invalidArgument, "unknown field '\(unknown)'; allowed: \(Self.keys.sorted().joined(separator: ", "))")
        }
        guard let content = object["content"] else {
            throw PlexusError(.invalidContent, "missing field 'content': a JSON object such as {\"text\": \"...\"}")
        }
        func string(_ key: String) throws(PlexusError) -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let value)?: return value
            case let other?: throw PlexusError(.invalidArgument, "'\(key)' must be a string, not \(other.kindName)")
            }
        }
        func strings(_ key: String) throws(PlexusError) -> [String]? {
            switch object[key] {
            case nil, .null?: return nil
            case .array(let values)?:
                var output: [String] = []
                for value in values {
                    guard case .string(let text) = value else {
                        throw PlexusError(.invalidArgument, "'\(key)' must be an array of strings")
                    }
                    output.append(text)
                }
                return output
            case let other?: throw PlexusError(.invalidArgument, "'\(key)' must be an array of strings, not \(other.kindName)")
            }
        }
        func count(_ key: String) throws(PlexusError) -> UInt64? {
            switch object[key] {
            case nil, .null?: return nil
            case .integer(let value)? where value >= 0: return UInt64(value)
            case let other?: throw PlexusError(.invalidArgument, "'\(key)' must be a non-negative integer, not \(other.kindName)")
            }
        }
        func ids(_ key: String) throws(PlexusError) -> [EntryID]? {
            guard let texts = try strings(key) else { return nil }
            var ids: [EntryID] = []
            for text in texts { ids.append(try EntryID.parse(text)) }
            return ids
        }
        self.init(
            type: try string("type"), topic: try string("topic"), tags: try strings("tags"), refs: try ids("refs"),
            supersedes: try ids("supersedes"),
            content: content, expiresMs: try count("expires_ms"), expiresAt: try string("expires_at"), ttlSeconds: try count("ttl_s"))
    }
}

/// The body of `POST /v1/publish/batch`: entries to append to the node's own feed in one
/// go, in the order given. All are stored or none; each is the same as one `publish`.
public struct PublishBatchRequest: Codable, Sendable, Equatable {
    public var entries: [PublishRequest]

    /// Most entries one batch publishes (the store's largest transaction).
    public static let maxEntries = 512

    public init(entries: [PublishRequest]) {
        self.entries = entries
    }

    /// Refuses an empty batch or one over `maxEntries`.
    public static func check(count: Int) throws(PlexusError) {
        guard (1...maxEntries).contains(count) else {
            throw PlexusError(.invalidArgument, "give 1 to \(maxEntries) entries in a batch, not \(count)")
        }
    }

    /// Reads a batch from parsed JSON; an entry's error names its index.
    public init(json: JSONValue) throws(PlexusError) {
        guard let object = json.objectValue else {
            throw PlexusError(.invalidJSON, "the request body must be a JSON object, not \(json.kindName)")
        }
        guard object.count == 1, let value = object["entries"] else {
            throw PlexusError(.invalidArgument, "the body must be {\"entries\": [<publish request>, ...]}")
        }
        guard case .array(let items) = value else {
            throw PlexusError(.invalidArgument, "'entries' must be an array of publish requests, not \(value.kindName)")
        }
        try Self.check(count: items.count)
        var entries: [PublishRequest] = []
        entries.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            do {
                entries.append(try PublishRequest(json: item))
            } catch {
                throw PlexusError(error.code, "entries[\(index)]: \(error.message)")
            }
        }
        self.init(entries: entries)
    }
}
