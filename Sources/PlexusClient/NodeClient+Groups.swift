import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PlexusCore

/// The private-group operations (`GroupService`) of `NodeClient`.
extension NodeClient {
    public func groups() async throws(PlexusError) -> [GroupView] {
        try await send(.GET, "/v1/groups")
    }

    public func group(_ group: String) async throws(PlexusError) -> GroupView {
        try await send(.GET, "/v1/groups/\(Self.pathSegment(group))")
    }

    public func createGroup(_ request: GroupCreateRequest) async throws(PlexusError) -> GroupView {
        try await send(.POST, "/v1/groups", body: request)
    }

    public func addMember(group: String, _ request: GroupMemberRequest) async throws(PlexusError) -> GroupView {
        try await send(.POST, "/v1/groups/\(Self.pathSegment(group))/members", body: request)
    }

    public func removeMember(group: String, agent: AgentID) async throws(PlexusError) -> GroupView {
        try await send(.DELETE, "/v1/groups/\(Self.pathSegment(group))/members/\(agent)")
    }

    public func setRole(group: String, agent: AgentID, role: GroupRole) async throws(PlexusError) -> GroupView {
        try await send(.PUT, "/v1/groups/\(Self.pathSegment(group))/members/\(agent)/role", body: GroupRoleRequest(role: role))
    }

    public func rekey(group: String) async throws(PlexusError) -> GroupView {
        try await send(.POST, "/v1/groups/\(Self.pathSegment(group))/rekey")
    }

    public func leave(group: String) async throws(PlexusError) -> GroupView {
        try await send(.POST, "/v1/groups/\(Self.pathSegment(group))/leave")
    }

    public func publish(group: String, _ request: PublishRequest) async throws(PlexusError) -> EntryView {
        try await send(.POST, "/v1/groups/\(Self.pathSegment(group))/entries", body: request)
    }

    public func groupFeed(group: String, _ request: GroupFeedRequest) async throws(PlexusError) -> EntryPage {
        let feed = request.feed
        return try await send(.GET, "/v1/groups/\(Self.pathSegment(group))/entries", query: [
            "author": feed.author?.description, "type": feed.type, "tag": feed.tag, "ref": feed.ref?.hex,
            "since": feed.since.map(String.init), "before": feed.before.map(String.init),
            "limit": feed.limit.map(String.init), "wait_ms": feed.waitMs.map(String.init),
            "since_ms": request.sinceMs.map(String.init), "include_hidden": request.includeHidden ? "true" : nil,
        ], timeout: feed.waitMs.map { max(timeout, .milliseconds(Int64($0)) + .seconds(10)) })
    }

    public func groupSearch(group: String, _ request: GroupSearchRequest) async throws(PlexusError) -> SearchResults {
        try await send(.GET, "/v1/groups/\(Self.pathSegment(group))/search", query: [
            "q": request.text, "limit": request.limit.map(String.init), "since_ms": request.sinceMs.map(String.init),
            "include_hidden": request.includeHidden ? "true" : nil,
        ])
    }

    public func retract(_ entry: EntryID, reason: String?) async throws(PlexusError) -> EntryView {
        try await send(.POST, "/v1/retract", body: RetractRequest(id: entry, reason: reason))
    }

    public func compileContext(group: String, _ request: ContextRequest) async throws(PlexusError) -> ContextView {
        try await send(.POST, "/v1/groups/\(Self.pathSegment(group))/context", body: request)
    }

    public func board(group: String) async throws(PlexusError) -> BoardView {
        try await send(.GET, "/v1/groups/\(Self.pathSegment(group))/board")
    }

    public func createBoardTask(group: String, _ request: BoardCreateRequest) async throws(PlexusError) -> BoardTaskView {
        try await send(.POST, "/v1/groups/\(Self.pathSegment(group))/board", body: request)
    }

    public func moveBoardTask(group: String, task: EntryID, _ move: BoardMove) async throws(PlexusError) -> BoardTaskView {
        let body: BoardMoveRequest = switch move {
        case .assign(let agent): BoardMoveRequest(assignee: agent)
        case .start, .accept, .cancel: BoardMoveRequest()
        case .complete(let result): BoardMoveRequest(result: result)
        case .fail(let reason), .dispute(let reason): BoardMoveRequest(reason: reason)
        case .rule(let to): BoardMoveRequest(to: to)
        }
        return try await send(.POST, "/v1/groups/\(Self.pathSegment(group))/board/\(task.hex)/\(move.name)", body: body)
    }

    public func presence(group: String, staleAfterMs: Int64?) async throws(PlexusError) -> [PresenceView] {
        try await send(.GET, "/v1/groups/\(Self.pathSegment(group))/presence", query: ["stale_after_ms": staleAfterMs.map(String.init)])
    }

    public func setPresence(group: String, _ request: PresenceRequest) async throws(PlexusError) -> PresenceView {
        try await send(.PUT, "/v1/groups/\(Self.pathSegment(group))/presence", body: request)
    }
}
