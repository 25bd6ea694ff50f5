import Foundation
import Logging
import PlexusCore
import PlexusProtocol

/// Drives the worker side of tasks (`WorkerTasks`, PlexusProtocol) for this node: reads the
/// node clock, sends the updates the state machine produces to callers, runs in-process
/// handlers, and suspends workers that poll for a task and callers that watch one until
/// something changes (bounded by their wait). Every decision is the state machine's.
actor TaskInbox {
    private let clock: NodeClock
    private let logger: Logger
    /// Sends an update to a task's caller (over the mesh, or straight to this node's router);
    /// runs on this actor's executor, without a hop.
    private let notify: nonisolated(nonsending) @Sendable (AgentID, Plexus_Task) async -> Void
    private var state: WorkerTasks
    private var pollers: Waiters<String>
    private var watchers: Waiters<TaskID>
    /// In-process handlers by capability (lowercased), and the tasks they are running.
    private var handlers: [String: TaskHandler] = [:]
    private var running: [TaskID: Task<Void, Never>] = [:]
    /// Rung when a task or a wait arrives: the sweeps leave their quiet pace.
    let sweeps: Alarm

    init(
        me: AgentID, skills: [String], clock: NodeClock, sweeps: Alarm, logger: Logger,
        notify: nonisolated(nonsending) @escaping @Sendable (AgentID, Plexus_Task) async -> Void
    ) {
        state = WorkerTasks(me: me, skills: skills)
        self.clock = clock
        self.sweeps = sweeps
        pollers = Waiters(sweeps: sweeps)
        watchers = Waiters(sweeps: sweeps)
        self.logger = logger
        self.notify = notify
    }

    /// The newest `limit` tasks received, newest first.
    func list(limit: Int) -> [TaskView] {
        state.newest(limit)
    }

    /// Whether so many tasks wait here that this agent should be announced as busy.
    var isBusy: Bool { state.isBusy }

    /// Whether this agent takes tasks for `capability`: announced, or a worker asked lately.
    func offers(_ capability: String) -> Bool {
        state.offers(capability, nowMs: clock.nowMs)
    }

    /// Capabilities taken here beyond the configured skills (handlers, polling workers).
    func servedCapabilities() -> [String] {
        state.servedCapabilities(nowMs: clock.nowMs)
    }

    // MARK: - From callers

    /// A task refused before the state machine saw it (its caller is not trusted here):
    /// the caller is told it was rejected, and why.
    func refuse(_ id: TaskID, from caller: AgentID, _ error: PlexusError) async {
        await execute([.notify(caller, WorkerTasks.update(id, .rejected, message: error.message, code: error.code))])
    }

    /// A task submitted by `caller`.
    func receive(_ id: TaskID, submit: Plexus_TaskSubmit, from caller: AgentID) async {
        sweeps.ring()
        await execute(state.receive(id, submit: submit, from: caller, nowMs: clock.nowMs))
    }

    /// The caller cancelled: the task ends, and a worker holding it sees `canceled`.
    func cancel(_ id: TaskID, from caller: AgentID) async {
        await execute(state.cancel(id, from: caller, nowMs: clock.nowMs))
    }

    /// Registers an in-process handler: tasks for `capability` run it at once, many at a time.
    func register(_ capability: String, handler: @escaping TaskHandler) {
        handlers[capability.lowercased()] = handler
        state.registerHandler(capability)
    }

    // MARK: - From local workers

    /// Leases the oldest waiting task for `capability` for `lease`, waiting up to `wait` for one.
    func next(capability: String, wait: Duration, lease: Duration) async -> TaskView? {
        let name = capability.lowercased()
        let deadline = ContinuousClock.now + wait
        while true {
            let (view, actions) = state.lease(name, for: lease, nowMs: clock.nowMs)
            await execute(actions)
            if let view { return view }
            guard ContinuousClock.now < deadline, !Task.isCancelled else { return nil }
            // A cancelled poll (its request gone, the node shutting down) ends at once.
            await withTaskCancellationHandler {
                await withCheckedContinuation { pollers.add(name, until: deadline, $0) }
            } onCancel: {
                Task { await self.wakePollers(name) }
            }
        }
    }

    /// A task as this worker sees it; `wait` long-polls for a change (with `changedAfterMs`,
    /// for one after that `updated_ms`).
    func view(_ id: TaskID, waitingFor wait: Duration = .zero, changedAfterMs: Int64? = nil) async throws(PlexusError) -> TaskView {
        guard let view = state.view(id) else { throw PlexusError(.notFound, "no task \(id) here") }
        func waiting(_ current: TaskView?) -> Bool {
            guard let current, !current.state.isTerminal else { return false }
            return changedAfterMs.map { current.updatedMs <= $0 } ?? (current == view)
        }
        if wait > .zero, waiting(view) {
            let deadline = ContinuousClock.now + wait
            while ContinuousClock.now < deadline, waiting(state.view(id)), !Task.isCancelled {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { watchers.add(id, until: deadline, $0) }
                } onCancel: {
                    Task { await self.wakeWatchers(id) }
                }
            }
        }
        return state.view(id) ?? view
    }

    /// Progress from the worker holding the task: passed to the caller; renews the lease.
    func progress(_ id: TaskID, message: String) async throws(PlexusError) -> TaskView {
        let (view, actions) = try state.progress(id, message: message, nowMs: clock.nowMs)
        await execute(actions)
        return view
    }

    /// The result (or error) of the task: sent to the caller once (see `WorkerTasks.finish`).
    func finish(_ id: TaskID, with outcome: TaskResultRequest) async throws(PlexusError) -> TaskView {
        let (view, actions) = try state.finish(id, with: outcome, nowMs: clock.nowMs)
        await execute(actions)
        return view
    }

    // MARK: - Time

    /// Hands out again the tasks whose lease ran out, ends those past their deadline, and
    /// wakes waiters whose time is up. Called periodically; returns whether anything is
    /// left to time (tasks that may run out of lease or deadline, waits).
    func sweep() async -> Bool {
        await execute(state.sweep(nowMs: clock.nowMs))
        let now = ContinuousClock.now
        pollers.wakeExpired(now: now)
        watchers.wakeExpired(now: now)
        return state.hasLiveTasks || !pollers.isEmpty || !watchers.isEmpty
    }

    /// Wakes the polls for `capability` (one was cancelled; the others poll again).
    private func wakePollers(_ capability: String) { pollers.wakeAll(capability) }

    /// Wakes those watching `id` (one was cancelled; the others look again).
    private func wakeWatchers(_ id: TaskID) { watchers.wakeAll(id) }

    // MARK: - Actions

    private func execute(_ actions: [WorkerTasks.Action]) async {
        for action in actions {
            switch action {
            case .notify(let caller, let message):
                if message.update.state == TaskState.rejected.rawValue {
                    logger.info("task refused", metadata: [
                        "task": "\(TaskID(bytes: message.id).map(\.description) ?? "?")", "caller": "\(caller.short)",
                        "code": "\(message.update.errorCode)",
                    ])
                }
                await notify(caller, message)
            case .run(let view):
                guard let handler = handlers[view.capability.lowercased()] else { continue }
                start(handler, for: view)
            case .stopHandler(let id):
                running[id]?.cancel()
            case .changed(let id):
                watchers.wakeAll(id)
            case .available(let capability):
                pollers.wakeOne(capability)
            }
        }
    }

    private func start(_ handler: @escaping TaskHandler, for view: TaskView) {
        let context = TaskContext(id: view.id, caller: view.caller, payload: view.payload ?? .null, deadlineMs: view.deadlineMs) { message in
            _ = try? await self.progress(view.id, message: message)
        }
        running[view.id] = Task {
            let outcome: TaskResultRequest
            do {
                outcome = TaskResultRequest(result: try await handler(context))
            } catch let error as PlexusError {
                outcome = TaskResultRequest(error: .init(code: error.code.rawValue, message: error.message))
            } catch is CancellationError {
                self.handlerEnded(view.id)
                return
            } catch {
                outcome = TaskResultRequest(error: .init(code: PlexusError.Code.dependencyError.rawValue, message: "\(error)"))
            }
            _ = try? await self.finish(view.id, with: outcome)
            self.handlerEnded(view.id)
        }
    }

    private func handlerEnded(_ id: TaskID) {
        running.removeValue(forKey: id)
        state.handlerEnded(id)
    }
}

/// An in-process task handler: returns the result (any JSON) or throws (a `PlexusError`
/// keeps its code; anything else is `dependencyError`). Cancelled when the caller cancels or
/// the deadline passes.
public typealias TaskHandler = @Sendable (TaskContext) async throws -> JSONValue

/// What a handler knows of its task.
public struct TaskContext: Sendable {
    public let id: TaskID
    public let caller: AgentID
    public let payload: JSONValue
    public let deadlineMs: Int64
    let report: @Sendable (String) async -> Void

    /// Tells the caller how the work goes.
    public func progress(_ message: String) async {
        await report(message)
    }
}
