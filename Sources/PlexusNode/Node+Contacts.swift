import PlexusCore

/// Contacts and trust (DESIGN §15): the operator's list, and applying it to the mesh, the
/// gossip and the ingest pipeline at once.
extension Node {
    public nonisolated func contacts() async throws(PlexusError) -> [ContactView] {
        try await store.contacts.all()
    }

    public nonisolated func addContact(_ request: ContactRequest) async throws(PlexusError) -> ContactView {
        let request = try request.validated()
        guard request.agent != id else { throw PlexusError(.invalidContent, "this agent cannot be its own contact") }
        let view = try await store.contacts.upsert(request)
        try await applyTrust()
        return view
    }

    public nonisolated func removeContact(_ agent: AgentID) async throws(PlexusError) -> ContactView {
        guard let removed = try await store.contacts.remove(agent) else {
            throw PlexusError(.notFound, "agent \(agent) is not a contact")
        }
        try await applyTrust()
        return removed
    }

    /// Reads the contacts into the trust gate and tells the mesh and the gossip who is
    /// blocked: a blocked agent connected now is disconnected, and its feeds are neither
    /// stored, asked for nor passed on.
    nonisolated func applyTrust() async throws(PlexusError) {
        trust.update(try await store.contacts.all())
        let blocked = trust.blocked
        await gossip.setBlocked(blocked)
        await mesh.refuse(blocked)
    }
}
