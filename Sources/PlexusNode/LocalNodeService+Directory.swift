import PlexusCore
import PlexusStore

/// The directory operations (`DirectoryService`) of `LocalNodeService`.
extension LocalNodeService {
    public func agents(_ query: AgentQuery) async throws(PlexusError) -> [AgentView] {
        try await node.agents(query)
    }

    public func agent(_ id: AgentID) async throws(PlexusError) -> AgentView {
        try await node.agent(id)
    }
}
