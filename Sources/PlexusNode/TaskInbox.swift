import Foundation
import Logging
import PlexusCore
import PlexusStore

/// The worker side of tasks (DESIGN §8): tasks that arrive for this agent wait in a queue
/// per capability until a local worker takes one with a lease (`next`), reports progress,
/// and posts the result, which goes back to the caller. A lease that runs out hands the
/// task out again; a result is accepted once (repeating it is harmless); a task seen
/// before (same caller and id or nonce) is refused as a replay; a task for a capability
/// this agent does not offer, or past its deadline, is rejected; queues are bounded.
actor TaskInbox {
    /// Tasks waiting for a worker, over all capabilities.
    static let maxQueued = 10_000
    /// Tasks remembered (for status, idempotent results and replay refusal).
    static let maxRemembered = 100_000
    /// How long a worker that polled for a capability counts as offering it.
    static let pollerMemory = Duration.seconds(60)

    struct Incoming: TaskRecord {
        var view: TaskView
        let nonce: [UInt8]
        var leaseUntil: ContinuousClock.Instant?
        /// How long the current worker's lease lasts (it renews with each progress report).
        var lease: Duration = .seconds(30)
    }

    /// Lease lengths a worker may ask for.
    static let leaseRange = Duration.seconds(1)...Duration.seconds(600)

    private let me: AgentID
    private let skills: Set<String>
    private let logger: Logger
    /// Sends an update to a task's caller (over the mesh, or straight to this node's router).
    private let notify: @Sendable (AgentID, Plexus_Task) async -> Void
    private var tasks = RememberedTasks<Incoming>(limit: TaskInbox.maxRemembered)
    private var queues: [String: [TaskID]] = [:]
    private var queued = 0
    /// Nonces of tasks seen, per caller, with their deadline: a replay before the deadline
    /// is refused by its nonce, after it by the deadline check, so they are kept until then.
    private var seenNonces: [AgentID: [[UInt8]: Int64]] = [:]
    private var nextNoncePrune = ContinuousClock.now
    private var polledAt: [String: ContinuousClock.Instant] = [:]
    private var pollers = Waiters<String>()
    private var watchers = Waiters<TaskID>()
    /// In-process handlers by capability (lowercased), and the tasks they are running.
    private var handlers: [String: TaskHandler] = [:]
    private var running: [TaskID: Task<Void, Never>] = [:]

    init(
        me: AgentID, skills: [String], logger: Logger,
        notify: @escaping @Sendable (AgentID, Plexus_Task) async -> Void
    ) {
        self.me = me
        self.skills = Set(skills.map { $0.lowercased() })
        self.logger = logger
        self.notify = notify
    }

    /// Tasks waiting for a worker at which this agent calls itself busy.
    static let busyQueue = 100

    /// Whether so many tasks wait here that this agent should be announced as busy.
    var isBusy: Bool { queued >= Self.busyQueue }

    /// Whether this agent takes tasks for `capability`: announced, or a worker asked lately.
    func offers(_ capability: String) -> Bool {
        let name = capability.lowercased()
        if skills.contains(name) || handlers[name] != nil { return true }
        guard let last = polledAt[name] else { return false }
        return ContinuousClock.now - last < Self.pollerMemory
    }

    // MARK: - From callers

    /// A task submitted by `caller`.
    func receive(_ id: TaskID, submit: Plexus_TaskSubmit, from caller: AgentID) async {
        let now = EntryStore.wallClockMs()
        func refuse(_ code: PlexusError.Code, _ message: String) async {
            logger.info("task refused", metadata: ["task": "\(id)", "caller": "\(caller.short)", "code": "\(code.rawValue)"])
            await notify(caller, Self.update(id, .rejected, message: message, code: code))
        }
        if tasks[id] != nil || seenNonces[caller]?[Array(submit.nonce)] != nil {
            return await refuse(.securityError, "task \(id) was seen before: replays are refused")
        }
        guard submit.nonce.count == 16, !submit.capability.isEmpty, submit.capability.count <= 128 else {
            return await refuse(.contractViolation, "a task needs a capability (1-128 characters) and a 16-byte nonce")
        }
        guard Int64(clamping: submit.deadlineMs) > now else {
            return await refuse(.timeout, "the task's deadline has already passed")
        }
        guard offers(submit.capability) else {
            return await refuse(.rejected, "this agent does not offer '\(submit.capability)'")
        }
        guard queued + running.count < Self.maxQueued else {
            return await refuse(.resourceExhausted, "\(Self.maxQueued) tasks already wait here")
        }
        let payload = try? JSONValue(parsing: submit.payload)
        var view = TaskView(
            id: id, role: .worker, caller: caller, worker: me, capability: submit.capability, state: .submitted,
            payload: payload, createdMs: now, deadlineMs: Int64(clamping: submit.deadlineMs))
        view.deliveries = 0
        seenNonces[caller, default: [:]][Array(submit.nonce)] = view.deadlineMs
        if let handler = handlers[submit.capability.lowercased()] {
            view.state = .working
            view.deliveries = 1
            tasks.insert(Incoming(view: view, nonce: Array(submit.nonce)))
            start(handler, for: view)
            return
        }
        tasks.insert(Incoming(view: view, nonce: Array(submit.nonce)))
        enqueue(id, capability: submit.capability.lowercased(), front: false)
    }

    /// Registers an in-process handler: tasks for `capability` run it at once, many at a time.
    func register(_ capability: String, handler: @escaping TaskHandler) {
        handlers[capability.lowercased()] = handler
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
    }

    /// The caller cancelled: the task ends, and a worker holding it sees `canceled`.
    func cancel(_ id: TaskID, from caller: AgentID) async {
        guard var task = tasks[id], task.view.caller == caller, !task.view.state.isTerminal else { return }
        task.view.state = .canceled
        task.view.updatedMs = EntryStore.wallClockMs()
        task.leaseUntil = nil
        tasks[id] = task
        dequeue(id, capability: task.view.capability.lowercased())
        running[id]?.cancel()
        watchers.wakeAll(id)
        await notify(caller, Self.update(id, .canceled, message: "canceled by the caller"))
    }

    // MARK: - From local workers

    /// Leases the oldest waiting task for `capability` for `lease`, waiting up to `wait` for one.
    func next(capability: String, wait: Duration, lease: Duration) async -> TaskView? {
        let name = capability.lowercased()
        let deadline = ContinuousClock.now + wait
        while true {
            polledAt[name] = .now
            if let view = await self.lease(capability: name, for: lease) { return view }
            guard ContinuousClock.now < deadline, !Task.isCancelled else { return nil }
            await withCheckedContinuation { pollers.add(name, until: deadline, $0) }
        }
    }

    /// A task as this worker sees it; `wait` long-polls for a change of state.
    func view(_ id: TaskID, waitingFor wait: Duration = .zero) async throws(PlexusError) -> TaskView {
        guard let task = tasks[id] else { throw PlexusError(.notFound, "no task \(id) here") }
        if wait > .zero, !task.view.state.isTerminal {
            let before = task.view
            let deadline = ContinuousClock.now + wait
            while ContinuousClock.now < deadline, tasks[id]?.view == before, !Task.isCancelled {
                await withCheckedContinuation { watchers.add(id, until: deadline, $0) }
            }
        }
        return tasks[id]?.view ?? task.view
    }

    /// Progress from the worker holding the task: passed to the caller; renews the lease.
    func progress(_ id: TaskID, message: String) async throws(PlexusError) -> TaskView {
        var task = try held(id)
        guard !task.view.state.isTerminal else { return task.view }
        task.view.message = message
        task.view.updatedMs = EntryStore.wallClockMs()
        task.leaseUntil = .now + task.lease
        task.view.leaseExpiresMs = EntryStore.wallClockMs() + Self.milliseconds(task.lease)
        tasks[id] = task
        watchers.wakeAll(id)
        await notify(task.view.caller, Self.update(id, .working, message: message))
        return task.view
    }

    /// The result (or error; no result is a null result) of the task: sent to the caller once. Posting the same outcome
    /// again answers with the task as it is; a different one after the task ended is a
    /// `contractViolation`.
    func finish(_ id: TaskID, with outcome: TaskResultRequest) async throws(PlexusError) -> TaskView {
        var task = try held(id)
        if task.view.state.isTerminal {
            let same = task.view.result == (outcome.error == nil ? outcome.result ?? .null : nil) && task.view.error == outcome.error
            if same || task.view.state == .canceled { return task.view }
            throw PlexusError(.contractViolation, "task \(id) already ended (\(task.view.state.rawValue)) with another outcome")
        }
        let update: Plexus_Task
        if let error = outcome.error {
            task.view.state = .failed
            task.view.error = error
            update = Self.update(id, .failed, message: error.message, code: PlexusError.Code(rawValue: error.code) ?? .dependencyError)
        } else {
            task.view.state = .completed
            task.view.result = outcome.result ?? .null
            var message = Self.update(id, .completed, message: "")
            message.update.result = (try? JSONEncoder.compact.encode(task.view.result)) ?? Data("null".utf8)
            update = message
        }
        task.view.updatedMs = EntryStore.wallClockMs()
        task.leaseUntil = nil
        tasks[id] = task
        watchers.wakeAll(id)
        await notify(task.view.caller, update)
        return task.view
    }

    // MARK: - Time

    /// Hands out again the tasks whose lease ran out, ends those past their deadline, and
    /// wakes waiters whose time is up. Called periodically.
    func sweep() async {
        let now = ContinuousClock.now
        let wall = EntryStore.wallClockMs()
        for (id, task) in tasks.live() {
            if task.view.deadlineMs <= wall {
                var ended = task
                ended.view.state = .failed
                ended.view.error = .init(code: PlexusError.Code.timeout.rawValue, message: "the deadline passed")
                ended.view.updatedMs = wall
                ended.leaseUntil = nil
                tasks[id] = ended
                dequeue(id, capability: task.view.capability.lowercased())
                running[id]?.cancel()
                watchers.wakeAll(id)
            } else if let until = task.leaseUntil, until <= now {
                var expired = task
                expired.leaseUntil = nil
                expired.view.state = .submitted
                expired.view.leaseExpiresMs = nil
                tasks[id] = expired
                logger.info("task lease expired: handed out again", metadata: ["task": "\(id)"])
                enqueue(id, capability: task.view.capability.lowercased(), front: true)
                watchers.wakeAll(id)
            }
        }
        if now >= nextNoncePrune {
            nextNoncePrune = now + .seconds(1)
            for (caller, nonces) in seenNonces {
                let live = nonces.filter { $0.value > wall }
                seenNonces[caller] = live.isEmpty ? nil : live
            }
        }
        pollers.wakeExpired(now: now)
        watchers.wakeExpired(now: now)
    }

    // MARK: - Internals

    private func held(_ id: TaskID) throws(PlexusError) -> Incoming {
        guard let task = tasks[id] else { throw PlexusError(.notFound, "no task \(id) here") }
        return task
    }

    private func lease(capability: String, for leaseDuration: Duration) async -> TaskView? {
        guard var ids = queues[capability], !ids.isEmpty else { return nil }
        let id = ids.removeFirst()
        queues[capability] = ids.isEmpty ? nil : ids
        queued -= 1
        guard var task = tasks[id], task.view.state == .submitted else { return nil }
        task.lease = leaseDuration
        task.leaseUntil = ContinuousClock.now + leaseDuration
        task.view.state = .working
        task.view.deliveries = (task.view.deliveries ?? 0) + 1
        task.view.leaseExpiresMs = EntryStore.wallClockMs() + Self.milliseconds(leaseDuration)
        task.view.updatedMs = EntryStore.wallClockMs()
        tasks[id] = task
        watchers.wakeAll(id)
        if task.view.deliveries == 1 {
            await notify(task.view.caller, Self.update(id, .working, message: "taken by a worker"))
        }
        return task.view
    }

    private func enqueue(_ id: TaskID, capability: String, front: Bool) {
        if front { queues[capability, default: []].insert(id, at: 0) } else { queues[capability, default: []].append(id) }
        queued += 1
        pollers.wakeOne(capability)
    }

    private func dequeue(_ id: TaskID, capability: String) {
        guard let index = queues[capability]?.firstIndex(of: id) else { return }
        queues[capability]?.remove(at: index)
        queued -= 1
    }

    static func update(_ id: TaskID, _ state: TaskState, message: String, code: PlexusError.Code? = nil) -> Plexus_Task {
        var task = Plexus_Task()
        task.id = Data(id.bytes)
        task.update = .with {
            $0.state = state.rawValue
            $0.message = message
            if let code { $0.errorCode = code.rawValue }
        }
        return task
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
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
