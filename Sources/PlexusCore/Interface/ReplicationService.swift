/// Replication: mesh peers, topics, follows and anti-entropy.
public protocol ReplicationService: Sendable {
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
