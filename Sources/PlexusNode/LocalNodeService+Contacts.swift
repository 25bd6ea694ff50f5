import PlexusCore

/// Contacts and trust (`ContactService`) of `LocalNodeService`.
extension LocalNodeService {
    public func contacts() async throws(PlexusError) -> [ContactView] {
        try await node.contacts()
    }

    public func addContact(_ request: ContactRequest) async throws(PlexusError) -> ContactView {
        try await node.addContact(request)
    }

    public func removeContact(_ agent: AgentID) async throws(PlexusError) -> ContactView {
        try await node.removeContact(agent)
    }
}
