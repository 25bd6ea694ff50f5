import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOFoundationCompat
import PlexusCore

/// The replication operations (`ReplicationService`) of `NodeClient`.
extension NodeClient {
    /// The mesh peers: connections, and remembered addresses not connected now.
    public func peers() async throws(PlexusError) -> [PeerView] {
        try await send(.GET, "/v1/peers")
    }

    /// The peers connected now.
    public func connectedPeers() async throws(PlexusError) -> [PeerView] {
        try await peers().filter { $0.state == .connected }
    }

    /// Asks the node to dial a peer (and keep it connected).
    public func connect(_ request: ConnectRequest) async throws(PlexusError) -> PeerView {
        try await send(.POST, "/v1/peers", body: request)
    }

    /// Disconnects a peer (agent id or `host:port`) and forgets its remembered addresses.
    public func removePeer(_ peer: String) async throws(PlexusError) -> PeerRemoval {
        try await send(.DELETE, "/v1/peers/\(Self.pathSegment(peer))")
    }

    /// The topics the node is in.
    public func topics() async throws(PlexusError) -> [TopicView] {
        try await send(.GET, "/v1/topics")
    }

    /// Joins a topic; returns the topics after.
    public func subscribe(_ topic: String) async throws(PlexusError) -> [TopicView] {
        try await send(.POST, "/v1/topics", body: SubscribeRequest(topic: topic))
    }

    /// Leaves a topic; returns the topics after.
    public func unsubscribe(_ topic: String) async throws(PlexusError) -> [TopicView] {
        try await send(.DELETE, "/v1/topics/\(Self.pathSegment(topic))")
    }

    /// The authors the node stores.
    public func follows() async throws(PlexusError) -> FollowsView {
        try await send(.GET, "/v1/follows")
    }

    public func follow(_ author: AgentID) async throws(PlexusError) -> FollowsView {
        try await send(.POST, "/v1/follows", body: FollowRequest(author: author))
    }

    public func unfollow(_ author: AgentID) async throws(PlexusError) -> FollowsView {
        try await send(.DELETE, "/v1/follows/\(Self.pathSegment(author.description))")
    }

    /// Anti-entropy per neighbour and topic.
    public func sync() async throws(PlexusError) -> [SyncView] {
        try await send(.GET, "/v1/sync")
    }
}
