import PlexusCore
import PlexusStore

/// The directory operations (`DirectoryService`) of `LocalNodeService`: agents as the
/// directory knows them, each with this node's contact entry for it.
extension LocalNodeService {
    public func agents(_ query: AgentQuery) async throws(PlexusError) -> [AgentView] {
        let contacts = try await contactsByAgent()
        return try await node.agents(query).map { agent in
            var agent = agent
            agent.contact = contacts[agent.agentID]
            return agent
        }
    }

    public func agent(_ id: AgentID) async throws(PlexusError) -> AgentView {
        var agent = try await node.agent(id)
        agent.contact = try await contactsByAgent()[id]
        return agent
    }

    private func contactsByAgent() async throws(PlexusError) -> [AgentID: ContactView] {
        Dictionary(try await node.contacts().map { ($0.agent, $0) }, uniquingKeysWith: { $1 })
    }
}
