import PlexusCore
import PlexusStore

/// The task operations (`TaskService`) of `LocalNodeService`.
extension LocalNodeService {
    public func sendTask(_ request: SendTaskRequest) async throws(PlexusError) -> TaskView {
        try await node.sendTask(request)
    }

    public func tasks(limit: Int, role: TaskView.Role) async throws(PlexusError) -> [TaskView] {
        let limit = try PageLimit.check(limit)
        switch role {
        case .caller: return await node.sentTasks(limit: limit)
        case .worker: return await node.receivedTasks(limit: limit)
        }
    }

    public func task(_ id: TaskID, waitMs: Int, changedAfterMs: Int64?) async throws(PlexusError) -> TaskView {
        try await node.task(id, wait: try WaitTime.duration(ms: waitMs), changedAfterMs: changedAfterMs)
    }

    public func cancelTask(_ id: TaskID) async throws(PlexusError) -> TaskView {
        try await node.cancelTask(id)
    }

    public func nextTask(capability: String, waitMs: Int, leaseMs: Int) async throws(PlexusError) -> TaskView? {
        try await node.nextTask(capability: capability, wait: try WaitTime.duration(ms: waitMs), lease: .milliseconds(leaseMs))
    }

    public func taskProgress(_ id: TaskID, message: String) async throws(PlexusError) -> TaskView {
        try await node.taskProgress(id, message: message)
    }

    public func finishTask(_ id: TaskID, with outcome: TaskResultRequest) async throws(PlexusError) -> TaskView {
        try await node.finishTask(id, with: outcome)
    }
}
