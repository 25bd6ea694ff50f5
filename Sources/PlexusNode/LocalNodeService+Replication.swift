import PlexusCore
import PlexusStore

/// The replication operations (`ReplicationService`) of `LocalNodeService`.
extension LocalNodeService {
    public func peers() async throws(PlexusError) -> [PeerView] {
        try await node.peers()
    }

    public func connect(_ request: ConnectRequest) async throws(PlexusError) -> PeerView {
        try await node.connect(request.address, expected: request.id)
    }

    public func removePeer(_ peer: String) async throws(PlexusError) -> PeerRemoval {
        try await node.removePeer(peer)
    }

    public func topics() async throws(PlexusError) -> [TopicView] {
        try await node.topics()
    }

    public func subscribe(_ topic: String) async throws(PlexusError) -> [TopicView] {
        try await node.subscribe(topic)
        return try await node.topics()
    }

    public func unsubscribe(_ topic: String) async throws(PlexusError) -> [TopicView] {
        guard try await node.unsubscribe(topic) else {
            throw PlexusError(.notFound, "this node is not subscribed to '\(topic)'")
        }
        return try await node.topics()
    }

    public func follows() async throws(PlexusError) -> FollowsView {
        try await node.follows()
    }

    public func follow(_ author: AgentID) async throws(PlexusError) -> FollowsView {
        try await node.follow(author)
        return try await node.follows()
    }

    public func unfollow(_ author: AgentID) async throws(PlexusError) -> FollowsView {
        guard try await node.unfollow(author) else {
            throw PlexusError(.notFound, "this node does not follow \(author)")
        }
        return try await node.follows()
    }

    public func sync() async throws(PlexusError) -> [SyncView] {
        await node.sync()
    }
}
