import PlexusCore

/// Direct messages (DESIGN §15) of this node.
extension Node {
    public nonisolated func sendDirect(_ request: DirectSendRequest) async throws(PlexusError) -> DirectMessageView {
        try await direct.send(request)
    }

    public nonisolated func directMessages(_ request: DirectListRequest) async throws(PlexusError) -> DirectPage {
        try await direct.page(request)
    }

    public nonisolated func directMessage(_ id: DirectID) async throws(PlexusError) -> DirectMessageView {
        try await direct.message(id)
    }

    public nonisolated func markDirectRead(_ id: DirectID) async throws(PlexusError) -> DirectMessageView {
        try await direct.markRead(id)
    }

    public nonisolated func conversations() async throws(PlexusError) -> [ConversationView] {
        try await direct.conversations()
    }
}
