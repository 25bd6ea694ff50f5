import PlexusCore

/// Contacts and trust over HTTP (`ContactService`).
extension NodeClient {
    public func contacts() async throws(PlexusError) -> [ContactView] {
        try await send(.GET, "/v1/contacts")
    }

    public func addContact(_ request: ContactRequest) async throws(PlexusError) -> ContactView {
        try await send(.POST, "/v1/contacts", body: request)
    }

    public func removeContact(_ agent: AgentID) async throws(PlexusError) -> ContactView {
        try await send(.DELETE, "/v1/contacts/\(agent)")
    }
}
