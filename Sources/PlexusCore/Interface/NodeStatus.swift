/// What `GET /v1/status` and `plexus status` report.
public struct NodeStatus: Codable, Sendable, Equatable {
    public var agentID: AgentID
    public var version: String
    public var dataDirectory: String
    public var uptimeMs: Int64
    public var keysEncrypted: Bool
    public var store: StoreCounts
    public var mesh: MeshStatus?

    public init(
        agentID: AgentID, version: String, dataDirectory: String, uptimeMs: Int64, keysEncrypted: Bool, store: StoreCounts,
        mesh: MeshStatus? = nil
    ) {
        self.agentID = agentID
        self.version = version
        self.dataDirectory = dataDirectory
        self.uptimeMs = uptimeMs
        self.keysEncrypted = keysEncrypted
        self.store = store
        self.mesh = mesh
    }

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id", version, dataDirectory = "data_dir", uptimeMs = "uptime_ms"
        case keysEncrypted = "keys_encrypted", store, mesh
    }
}

/// Counts of what a node's store holds.
public struct StoreCounts: Codable, Sendable, Equatable {
    public var entries: Int
    public var authors: Int
    public var forkedAuthors: Int
    public var tombstones: Int
    public var latestCursor: Int64

    public init(entries: Int, authors: Int, forkedAuthors: Int, tombstones: Int, latestCursor: Int64) {
        self.entries = entries
        self.authors = authors
        self.forkedAuthors = forkedAuthors
        self.tombstones = tombstones
        self.latestCursor = latestCursor
    }

    enum CodingKeys: String, CodingKey {
        case entries, authors, forkedAuthors = "forked_authors", tombstones, latestCursor = "latest_cursor"
    }
}

/// The version of this build.
public enum PlexusVersion {
    public static let current = "0.1.0"
}
