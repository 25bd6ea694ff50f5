/// The agent directory: agents' signed, self-announced records.
public protocol DirectoryService: Sendable {
    /// Agents in the directory matching `query`, most recently announced first.
    func agents(_ query: AgentQuery) async throws(PlexusError) -> [AgentView]
    /// One agent's directory entry; `notFound` when no current record is held.
    func agent(_ id: AgentID) async throws(PlexusError) -> AgentView
}
