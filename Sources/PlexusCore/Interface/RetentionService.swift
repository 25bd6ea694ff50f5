import Foundation

/// What a node keeps (DESIGN §14, PROTOCOL.md §2.5): local retention policies, created,
/// listed and deleted at run time (or set in `config.yaml`), applied by a sweep every
/// `retention_interval_s` and on demand. What a sweep removes leaves a tombstone, so sync
/// never fetches it again.
public protocol RetentionService: Sendable {
    /// Every policy in force: those from `config.yaml` first, then those added at run time.
    func retentionPolicies() async throws(PlexusError) -> RetentionPolicyList
    /// Adds a policy (it applies from the next sweep).
    func addRetentionPolicy(_ request: RetentionPolicyRequest) async throws(PlexusError) -> RetentionPolicyView
    /// Deletes a policy added at run time (`rejected` for one from `config.yaml`).
    func removeRetentionPolicy(_ id: String) async throws(PlexusError) -> RetentionPolicyView
    /// Sweeps now; what each policy removed.
    func runRetention() async throws(PlexusError) -> RetentionRunView
}

/// The body of `POST /v1/retention/policies`: a scope (global, one topic or one author)
/// and at least one bound.
public struct RetentionPolicyRequest: Codable, Sendable, Equatable {
    /// Only this topic's entries; nil with `author` nil: every topic.
    public var topic: String?
    /// Only this author's entries.
    public var author: AgentID?
    /// Entries received longer ago than this are removed.
    public var maxAgeS: Int64?
    /// At most this many entries are kept per topic in scope (the newest received).
    public var maxCount: Int64?
    /// Of entries whose JSON content has a value at this path, only the newest per value is
    /// kept (`$.key` or `key.inner`).
    public var compactKey: String?

    public static let maxAgeLimitS: Int64 = 100 * 365 * 86_400
    public static let maxCountLimit: Int64 = 1 << 40

    public init(topic: String? = nil, author: AgentID? = nil, maxAgeS: Int64? = nil, maxCount: Int64? = nil, compactKey: String? = nil) {
        self.topic = topic
        self.author = author
        self.maxAgeS = maxAgeS
        self.maxCount = maxCount
        self.compactKey = compactKey
    }

    /// The request, checked: one scope, at least one bound, bounds positive, a valid path.
    /// What the OpenAPI schema cannot say (one scope, one bound at least, the path's form)
    /// is `invalidContent`; a bound out of range `invalidArgument`.
    public func validated() throws(PlexusError) -> RetentionPolicyRequest {
        guard topic == nil || author == nil else { throw PlexusError(.invalidContent, "a policy names a topic or an author, not both") }
        if let topic {
            guard !topic.isEmpty, topic.utf8.count <= 256 else { throw PlexusError(.invalidArgument, "topic must be 1 to 256 bytes") }
        }
        guard maxAgeS != nil || maxCount != nil || compactKey != nil else {
            throw PlexusError(.invalidContent, "a policy needs max_age_s, max_count or compact_key")
        }
        if let maxAgeS {
            guard (1...Self.maxAgeLimitS).contains(maxAgeS) else { throw PlexusError(.invalidArgument, "max_age_s must be from 1 to \(Self.maxAgeLimitS)") }
        }
        if let maxCount {
            guard (1...Self.maxCountLimit).contains(maxCount) else { throw PlexusError(.invalidArgument, "max_count must be from 1 to 2^40") }
        }
        if let compactKey {
            do { _ = try JSONPath(compactKey) } catch { throw PlexusError(.invalidContent, error.message) }
        }
        return self
    }

    /// Seconds from a duration such as `90`, `45s`, `30m`, `12h`, `7d` or `2w`.
    public static func seconds(from duration: String) throws(PlexusError) -> Int64 {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800]
        var digits = Substring(duration.trimmingCharacters(in: .whitespaces))
        var unit: Int64 = 1
        if let last = digits.last, let factor = units[last] {
            unit = factor
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let value = Int64(digits), value > 0,
              value <= Self.maxAgeLimitS / unit
        else {
            throw PlexusError(.invalidArgument, "'\(duration.prefix(40))' is not a duration such as 90, 45s, 30m, 12h, 7d or 2w")
        }
        return value * unit
    }

    enum CodingKeys: String, CodingKey {
        case topic, author
        case maxAgeS = "max_age_s", maxCount = "max_count", compactKey = "compact_key"
    }
}

/// A path to a value in an entry's JSON content: `$.a.b`, `a.b` or `a`; object keys only
/// (letters, digits, `_` and `-`), at most 8 deep.
public struct JSONPath: Sendable, Equatable, CustomStringConvertible {
    public let keys: [String]

    public init(_ text: String) throws(PlexusError) {
        var rest = Substring(text)
        if rest.hasPrefix("$.") { rest = rest.dropFirst(2) }
        let keys = rest.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        guard text.utf8.count <= 256, (1...8).contains(keys.count), keys.allSatisfy({ !$0.isEmpty && $0.allSatisfy(allowed.contains) }) else {
            throw PlexusError(.invalidArgument, "'\(text.prefix(60))' is not a JSON path such as $.key or key.inner (object keys of letters, digits, _ and -, at most 8)")
        }
        self.keys = keys
    }

    /// The value at the path in `value`, nil when there is none.
    public func value(in value: JSONValue) -> JSONValue? {
        var current = value
        for key in keys {
            guard let next = current.objectValue?[key] else { return nil }
            current = next
        }
        return current
    }

    public var description: String { "$." + keys.joined(separator: ".") }
}

/// A retention policy in force.
public struct RetentionPolicyView: Codable, Sendable, Equatable {
    /// `c1`, `c2`, … for those from `config.yaml` (in its order); `p1`, `p2`, … for those
    /// added at run time.
    public var id: String
    /// `global`, `topic` or `author`.
    public var scope: String
    public var topic: String?
    public var author: AgentID?
    public var maxAgeS: Int64?
    public var maxCount: Int64?
    public var compactKey: String?
    /// `config` or `api`.
    public var source: String
    public var createdMs: Int64?

    public init(
        id: String, topic: String?, author: AgentID?, maxAgeS: Int64?, maxCount: Int64?, compactKey: String?, source: String, createdMs: Int64?
    ) {
        self.id = id
        self.scope = topic != nil ? "topic" : author != nil ? "author" : "global"
        self.topic = topic
        self.author = author
        self.maxAgeS = maxAgeS
        self.maxCount = maxCount
        self.compactKey = compactKey
        self.source = source
        self.createdMs = createdMs
    }

    /// The policy's bounds and scope as a request (what the sweep applies).
    public var request: RetentionPolicyRequest {
        RetentionPolicyRequest(topic: topic, author: author, maxAgeS: maxAgeS, maxCount: maxCount, compactKey: compactKey)
    }

    enum CodingKeys: String, CodingKey {
        case id, scope, topic, author, source
        case maxAgeS = "max_age_s", maxCount = "max_count", compactKey = "compact_key", createdMs = "created_ms"
    }
}

/// The policies in force.
public struct RetentionPolicyList: Codable, Sendable, Equatable {
    public var policies: [RetentionPolicyView]
    /// Seconds between sweeps.
    public var intervalS: Int
    /// Seconds a tombstone is kept before it collapses into its feed's low-water mark.
    public var tombstoneMaxAgeS: Int64

    public init(policies: [RetentionPolicyView], intervalS: Int, tombstoneMaxAgeS: Int64) {
        self.policies = policies
        self.intervalS = intervalS
        self.tombstoneMaxAgeS = tombstoneMaxAgeS
    }

    enum CodingKeys: String, CodingKey {
        case policies
        case intervalS = "interval_s", tombstoneMaxAgeS = "tombstone_max_age_s"
    }
}

/// What a sweep removed.
public struct RetentionRunView: Codable, Sendable, Equatable {
    public struct PolicyResult: Codable, Sendable, Equatable {
        public var id: String
        public var removed: Int

        public init(id: String, removed: Int) {
            self.id = id
            self.removed = removed
        }
    }

    /// Entries removed in all (each leaves a tombstone).
    public var removed: Int
    public var policies: [PolicyResult]
    /// Tombstones older than the tombstone age collapsed into low-water marks.
    public var collapsed: Int
    /// Blobs collected: not pinned, referenced by no entry held here, unused for the grace period.
    public var blobsCollected: Int
    public var blobBytesCollected: UInt64
    public var tookMs: Int64

    public init(removed: Int, policies: [PolicyResult], collapsed: Int, blobsCollected: Int, blobBytesCollected: UInt64, tookMs: Int64) {
        self.removed = removed
        self.policies = policies
        self.collapsed = collapsed
        self.blobsCollected = blobsCollected
        self.blobBytesCollected = blobBytesCollected
        self.tookMs = tookMs
    }

    enum CodingKeys: String, CodingKey {
        case removed, policies, collapsed
        case blobsCollected = "blobs_collected", blobBytesCollected = "blob_bytes_collected", tookMs = "took_ms"
    }
}
