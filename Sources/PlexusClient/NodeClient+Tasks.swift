import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOFoundationCompat
import PlexusCore

/// The task operations (`TaskService`) of `NodeClient`.
extension NodeClient {
    public func sendTask(_ request: SendTaskRequest) async throws(PlexusError) -> TaskView {
        try await send(.POST, "/v1/tasks", body: request, timeout: request.waitMs.map { max(timeout, .milliseconds(Int64($0)) + .seconds(10)) })
    }

    public func tasks(limit: Int, role: TaskView.Role) async throws(PlexusError) -> [TaskView] {
        try await send(.GET, "/v1/tasks", query: ["limit": String(limit), "role": role.rawValue])
    }

    public func task(_ id: TaskID, waitMs: Int, changedAfterMs: Int64?) async throws(PlexusError) -> TaskView {
        try await send(
            .GET, "/v1/tasks/\(id)", query: ["wait_ms": String(waitMs), "after_ms": changedAfterMs.map(String.init)],
            timeout: max(timeout, .milliseconds(Int64(waitMs)) + .seconds(10)))
    }

    public func cancelTask(_ id: TaskID) async throws(PlexusError) -> TaskView {
        try await send(.POST, "/v1/tasks/\(id)/cancel", body: [String: String]())
    }

    public func nextTask(capability: String, waitMs: Int, leaseMs: Int) async throws(PlexusError) -> TaskView? {
        let next: NextTask = try await send(
            .GET, "/v1/tasks/next", query: ["capability": capability, "wait_ms": String(waitMs), "lease_ms": String(leaseMs)],
            timeout: max(timeout, .milliseconds(Int64(waitMs)) + .seconds(10)))
        return next.task
    }

    public func taskProgress(_ id: TaskID, message: String) async throws(PlexusError) -> TaskView {
        try await send(.POST, "/v1/tasks/\(id)/progress", body: ["message": message])
    }

    public func finishTask(_ id: TaskID, with outcome: TaskResultRequest) async throws(PlexusError) -> TaskView {
        try await send(.POST, "/v1/tasks/\(id)/result", body: outcome)
    }

    /// `data` of `GET /v1/tasks/next`: a task or null.
    private struct NextTask: Decodable {
        let task: TaskView?
    }
}
