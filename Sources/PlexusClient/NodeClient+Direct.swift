import NIOCore
import PlexusCore

/// Direct messages over HTTP (`DirectService`).
extension NodeClient {
    public func sendDirect(_ request: DirectSendRequest) async throws(PlexusError) -> DirectMessageView {
        try await send(.POST, "/v1/dms", body: request, timeout: request.waitMs.map { max(timeout, .milliseconds(Int64($0)) + .seconds(10)) })
    }

    public func directMessages(_ request: DirectListRequest) async throws(PlexusError) -> DirectPage {
        var query: [String: String] = [:]
        if let with = request.with { query["with"] = with.description }
        if request.quarantined { query["quarantined"] = "true" }
        if let since = request.since { query["since"] = String(since) }
        if let before = request.before { query["before"] = String(before) }
        if let limit = request.limit { query["limit"] = String(limit) }
        if let waitMs = request.waitMs { query["wait_ms"] = String(waitMs) }
        return try await send(.GET, "/v1/dms", query: query, timeout: request.waitMs.map { max(timeout, .milliseconds(Int64($0)) + .seconds(10)) })
    }

    public func directMessage(_ id: DirectID) async throws(PlexusError) -> DirectMessageView {
        try await send(.GET, "/v1/dms/\(id)")
    }

    public func markDirectRead(_ id: DirectID) async throws(PlexusError) -> DirectMessageView {
        try await send(.POST, "/v1/dms/\(id)/read")
    }

    public func conversations() async throws(PlexusError) -> [ConversationView] {
        try await send(.GET, "/v1/dms/conversations")
    }
}
