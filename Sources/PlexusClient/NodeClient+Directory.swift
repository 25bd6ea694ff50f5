import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOFoundationCompat
import PlexusCore

/// The directory operations (`DirectoryService`) of `NodeClient`.
extension NodeClient {
    /// Agents in the node's directory matching `query`.
    public func agents(_ query: AgentQuery) async throws(PlexusError) -> [AgentView] {
        try await send(.GET, "/v1/agents", query: ["capability": query.capability, "user": query.user, "label": query.label])
    }

    /// One agent's directory entry.
    public func agent(_ id: AgentID) async throws(PlexusError) -> AgentView {
        try await send(.GET, "/v1/agents/\(Self.pathSegment(id.description))")
    }
}
