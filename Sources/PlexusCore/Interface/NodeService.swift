/// The operations a node offers agents, in the shapes the HTTP API returns. Two things
/// implement it: the node itself (in-process, for the HTTP routes and MCP over HTTP) and
/// the HTTP client of a running node (for `plexus mcp` over stdio and other tools), so an
/// interface written against it works either way (DESIGN §10).
public protocol NodeService: Sendable {
    /// What the node is and holds.
    func status() async throws(PlexusError) -> NodeStatus
    /// The node's agent id.
    func identity() async throws(PlexusError) -> IdentityView
    /// Signs and stores the next entry of the node's own feed.
    func publish(_ request: PublishRequest) async throws(PlexusError) -> EntryView
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
    /// The connected mesh peers.
    func peers() async throws(PlexusError) -> [PeerView]
    /// Dials a peer and keeps it connected.
    func connect(_ request: ConnectRequest) async throws(PlexusError) -> PeerView
    /// Disconnects a peer (by agent id or `host:port`) and stops redialling it.
    func removePeer(_ peer: String) async throws(PlexusError) -> PeerRemoval
    /// The topics the node is in.
    func topics() async throws(PlexusError) -> [TopicView]
    /// Joins a topic; returns the topics after.
    func subscribe(_ topic: String) async throws(PlexusError) -> [TopicView]
    /// Leaves a topic (`notFound` when not in it); returns the topics after.
    func unsubscribe(_ topic: String) async throws(PlexusError) -> [TopicView]
    /// The authors the node stores.
    func follows() async throws(PlexusError) -> FollowsView
    /// Follows an author; returns the follows after.
    func follow(_ author: AgentID) async throws(PlexusError) -> FollowsView
    /// Unfollows an author (`notFound` when not followed); returns the follows after.
    func unfollow(_ author: AgentID) async throws(PlexusError) -> FollowsView
    /// Anti-entropy per neighbour and topic.
    func sync() async throws(PlexusError) -> [SyncView]
    /// Agents in the directory matching `query`, most recently announced first.
    func agents(_ query: AgentQuery) async throws(PlexusError) -> [AgentView]
    /// One agent's directory entry; `notFound` when no current record is held.
    func agent(_ id: AgentID) async throws(PlexusError) -> AgentView
    /// Sends a task to an agent, or to one offering the capability.
    func sendTask(_ request: SendTaskRequest) async throws(PlexusError) -> TaskView
    /// Tasks sent from this node, newest first.
    func tasks(limit: Int) async throws(PlexusError) -> [TaskView]
    /// A task sent or received here; with `waitMs`, waits for it to end (sent) or change (received).
    func task(_ id: TaskID, waitMs: Int) async throws(PlexusError) -> TaskView
    /// Cancels a task sent from here.
    func cancelTask(_ id: TaskID) async throws(PlexusError) -> TaskView
    /// Leases the next task for `capability` to a local worker (nil when none came in time).
    func nextTask(capability: String, waitMs: Int, leaseMs: Int) async throws(PlexusError) -> TaskView?
    /// Progress on a leased task (renews the lease).
    func taskProgress(_ id: TaskID, message: String) async throws(PlexusError) -> TaskView
    /// The result or error of a leased task.
    func finishTask(_ id: TaskID, with outcome: TaskResultRequest) async throws(PlexusError) -> TaskView
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
    public static let maxWaitMs = 60_000
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

/// What removing a peer did (`DELETE /v1/peers/{peer}`).
public struct PeerRemoval: Sendable, Equatable, Codable {
    /// Whether a live connection was closed.
    public var disconnected: Bool
    /// Remembered addresses forgotten (no longer redialled, also after a restart).
    public var forgotten: [String]

    public init(disconnected: Bool, forgotten: [String]) {
        self.disconnected = disconnected
        self.forgotten = forgotten
    }
}
