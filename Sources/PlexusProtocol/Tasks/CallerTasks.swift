import Foundation
import PlexusCore

/// The caller side of tasks (DESIGN §8) as a sans-IO state machine: the tasks this node
/// sent, each to one chosen worker. Updates are accepted only from that worker and only
/// until the task ends; a task fails with `timeout` at its deadline and its worker is told
/// to cancel; a cancel ends it at once. Every method takes the node clock's wall time and
/// returns what the driver (`TaskRouter`) must do.
public struct CallerTasks: Sendable {
    /// What the driver does for the state machine.
    public enum Action: Sendable, Equatable {
        /// The task changed: wake those watching it.
        case changed(TaskID)
        /// Tell the worker to stop (through `relay` when the task went through one).
        case cancel(TaskID, worker: AgentID, relay: AgentID?)
    }

    /// What an update from a peer did.
    public enum UpdateOutcome: Sendable, Equatable {
        case applied
        /// Not a task sent from here, or it already ended: nothing to do.
        case ignored
        /// From a peer the task was not sent to: refused (and worth a log line).
        case wrongSender
    }

    /// A task as the caller side keeps it.
    public struct Outgoing: TaskRecord {
        public var view: TaskView
        /// The relay the task went through, if it did.
        public var relay: AgentID?
    }

    /// Tasks remembered (finished ones are forgotten first beyond this).
    public static let maxRemembered = 10_000

    private let me: AgentID
    private var tasks: RememberedTasks<Outgoing>

    public init(me: AgentID, remember: Int = CallerTasks.maxRemembered) {
        self.me = me
        tasks = RememberedTasks(limit: remember)
    }

    public func view(_ id: TaskID) -> TaskView? { tasks[id]?.view }

    /// Whether a task sent from here may still run out of deadline (`sweep` has work).
    public var hasLiveTasks: Bool { tasks.hasUnended }

    /// Tasks sent from here, newest first.
    public func newest(_ limit: Int) -> [TaskView] { tasks.newest(limit).map(\.view) }

    /// How many unended tasks from here each worker has (the router's view of load).
    public mutating func load() -> [AgentID: Int] {
        var load: [AgentID: Int] = [:]
        for (_, task) in tasks.live() {
            if let worker = task.view.worker { load[worker, default: 0] += 1 }
        }
        return load
    }

    /// Records a task about to be sent to `worker`, with its deadline `timeoutMs` from now.
    public mutating func start(
        _ id: TaskID, to worker: AgentID, capability: String, payload: JSONValue?, timeoutMs: Int64, nowMs: Int64
    ) -> TaskView {
        let view = TaskView(
            id: id, role: .caller, caller: me, worker: worker, capability: capability, state: .submitted,
            payload: payload, createdMs: nowMs, deadlineMs: nowMs + timeoutMs)
        tasks.insert(Outgoing(view: view))
        return view
    }

    /// The task went through `relay` (its worker accepts no connection from here).
    public mutating func relayed(_ id: TaskID, via relay: AgentID) {
        tasks[id]?.relay = relay
    }

    /// Forgets a task that could not be sent.
    public mutating func forget(_ id: TaskID) {
        tasks.remove(id)
    }

    /// Cancels a task: it ends as `canceled` and its worker is told.
    public mutating func cancel(_ id: TaskID, nowMs: Int64) throws(PlexusError) -> (TaskView, [Action]) {
        guard var task = tasks[id] else { throw PlexusError(.notFound, "no task \(id) sent from here") }
        guard !task.view.state.isTerminal else { return (task.view, []) }
        task.view.state = .canceled
        task.view.updatedMs = TaskView.changeTime(after: task.view.updatedMs, nowMs)
        tasks[id] = task
        var actions: [Action] = [.changed(id)]
        if let worker = task.view.worker { actions.append(.cancel(id, worker: worker, relay: task.relay)) }
        return (task.view, actions)
    }

    /// An update from `peer` about a task sent from here.
    public mutating func receive(_ id: TaskID, update: Plexus_TaskUpdate, from peer: AgentID, nowMs: Int64) -> (UpdateOutcome, [Action]) {
        guard var task = tasks[id] else { return (.ignored, []) }
        guard task.view.worker == peer else { return (.wrongSender, []) }
        guard !task.view.state.isTerminal, let state = TaskState(rawValue: update.state) else { return (.ignored, []) }
        task.view.state = state
        task.view.updatedMs = TaskView.changeTime(after: task.view.updatedMs, nowMs)
        if !update.message.isEmpty { task.view.message = update.message }
        switch state {
        case .completed:
            task.view.result = (try? JSONValue(parsing: update.result)) ?? .null
        case .failed, .rejected:
            task.view.error = .init(
                code: update.errorCode.isEmpty ? PlexusError.Code.dependencyError.rawValue : update.errorCode, message: update.message)
        default:
            break
        }
        tasks[id] = task
        return (.applied, [.changed(id)])
    }

    /// Fails the tasks past their deadline and tells their workers to stop.
    public mutating func sweep(nowMs: Int64) -> [Action] {
        var actions: [Action] = []
        for (id, task) in tasks.live() where task.view.deadlineMs <= nowMs {
            var ended = task
            ended.view.state = .failed
            ended.view.error = .init(code: PlexusError.Code.timeout.rawValue, message: "no result before the deadline")
            ended.view.updatedMs = TaskView.changeTime(after: task.view.updatedMs, nowMs)
            tasks[id] = ended
            actions.append(.changed(id))
            if let worker = task.view.worker { actions.append(.cancel(id, worker: worker, relay: task.relay)) }
        }
        return actions
    }
}
