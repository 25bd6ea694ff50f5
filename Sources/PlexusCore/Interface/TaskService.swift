/// Tasks: work sent to other agents, and taken and answered by local workers.
public protocol TaskService: Sendable {
    /// Sends a task to an agent, or to one offering the capability.
    func sendTask(_ request: SendTaskRequest) async throws(PlexusError) -> TaskView
    /// Tasks sent from this node (`caller`) or received by it for its workers (`worker`),
    /// newest first.
    func tasks(limit: Int, role: TaskView.Role) async throws(PlexusError) -> [TaskView]
    /// A task sent or received here. With `waitMs` it waits: with `changedAfterMs` (an
    /// `updated_ms` the caller saw) until the task changes after it or ends; without, until
    /// it ends (sent) or changes (received).
    func task(_ id: TaskID, waitMs: Int, changedAfterMs: Int64?) async throws(PlexusError) -> TaskView
    /// Cancels a task sent from here.
    func cancelTask(_ id: TaskID) async throws(PlexusError) -> TaskView
    /// Leases the next task for `capability` to a local worker (nil when none came in time).
    func nextTask(capability: String, waitMs: Int, leaseMs: Int) async throws(PlexusError) -> TaskView?
    /// Progress on a leased task (renews the lease).
    func taskProgress(_ id: TaskID, message: String) async throws(PlexusError) -> TaskView
    /// The result or error of a leased task.
    func finishTask(_ id: TaskID, with outcome: TaskResultRequest) async throws(PlexusError) -> TaskView
}

extension TaskService {
    /// A task sent or received here; with `waitMs`, waits for it to end (sent) or change (received).
    public func task(_ id: TaskID, waitMs: Int) async throws(PlexusError) -> TaskView {
        try await task(id, waitMs: waitMs, changedAfterMs: nil)
    }

    /// Tasks sent from this node, newest first.
    public func tasks(limit: Int) async throws(PlexusError) -> [TaskView] {
        try await tasks(limit: limit, role: .caller)
    }
}
