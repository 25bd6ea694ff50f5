import PlexusCore

/// Direct messages (`DirectService`) of `LocalNodeService`.
extension LocalNodeService {
    public func sendDirect(_ request: DirectSendRequest) async throws(PlexusError) -> DirectMessageView {
        try await node.sendDirect(request)
    }

    public func directMessages(_ request: DirectListRequest) async throws(PlexusError) -> DirectPage {
        try await node.directMessages(request)
    }

    public func directMessage(_ id: DirectID) async throws(PlexusError) -> DirectMessageView {
        try await node.directMessage(id)
    }

    public func markDirectRead(_ id: DirectID) async throws(PlexusError) -> DirectMessageView {
        try await node.markDirectRead(id)
    }

    public func conversations() async throws(PlexusError) -> [ConversationView] {
        try await node.conversations()
    }
}
