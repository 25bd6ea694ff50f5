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

    public func groupFeed(group: String, _ request: FeedRequest) async throws(PlexusError) -> EntryPage {
        try await send(.GET, "/v1/groups/\(Self.pathSegment(group))/entries", query: [
            "author": request.author?.description, "type": request.type, "tag": request.tag, "ref": request.ref?.hex,
            "since": request.since.map(String.init), "before": request.before.map(String.init),
            "limit": request.limit.map(String.init), "wait_ms": request.waitMs.map(String.init),
        ], timeout: request.waitMs.map { max(timeout, .milliseconds(Int64($0)) + .seconds(10)) })
    }
}
