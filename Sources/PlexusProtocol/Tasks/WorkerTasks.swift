import Foundation
import HeapModule
import PlexusCore

/// The worker side of tasks (DESIGN §8) as a sans-IO state machine: tasks that arrive for
/// this agent wait in a queue per capability until a local worker leases one, reports
/// progress and posts the result; a lease that runs out hands the task out again; a result
/// is accepted once (repeating it is harmless); a task seen before (same caller and id or
/// nonce) is refused as a replay until its deadline, after which the deadline refuses it;
/// a task for a capability this agent does not offer, or past its deadline, is rejected;
/// queues are bounded. Every method takes the node clock's wall time (`nowMs`) and returns
/// what the driver must do (`TaskInbox` sends the updates, runs handlers, wakes waiters).
public struct WorkerTasks: Sendable {
    /// What the driver does for the state machine.
    public enum Action: Sendable, Equatable {
        /// Send a task message to the task's caller.
        case notify(AgentID, Plexus_Task)
        /// Run the in-process handler registered for the task's capability.
        case run(TaskView)
        /// Cancel the running handler of a task (cancelled or past its deadline).
        case stopHandler(TaskID)
        /// The task changed: wake those watching it.
        case changed(TaskID)
        /// A task for this capability (lowercased) is waiting: wake one polling worker.
        case available(String)
    }

    /// A task as the worker side keeps it.
    public struct Incoming: TaskRecord {
        public var view: TaskView
        /// When the current lease runs out (wall ms), nil while not leased.
        var leaseUntilMs: Int64?
        /// How long the current worker's lease lasts (it renews with each progress report).
        var leaseMs: Int64 = 30_000
    }

    /// Tasks waiting for a worker, over all capabilities.
    public static let maxQueued = 10_000
    /// Tasks remembered (for status, idempotent results and replay refusal).
    public static let maxRemembered = 100_000
    /// Nonces held for replay refusal, at most (each until its task's deadline): 2 million
    /// (8 bytes each in the set, 16 in the expiry heap: under 70 MB with the tables' spare
    /// room) lets one node take 33,000 tasks a second with the default one-minute timeout.
    /// Beyond it new tasks are refused as `resourceExhausted` until some expire; none is
    /// forgotten early, which would let its replay in.
    public static let maxSeenNonces = 2_000_000
    /// How far ahead of this node's clock a task's deadline may be: the longest timeout a
    /// caller may set (an hour) and five minutes for clocks that disagree. A nonce is kept
    /// until its deadline, so a later one would hold it for as long as the caller liked.
    public static let maxDeadlineAheadMs = Int64(SendTaskRequest.maxTimeoutMs) + 300_000
    /// How long a worker that polled for a capability counts as offering it: longer than
    /// the longest poll (60 s), so a worker that polls again at once is never dropped.
    public static let pollerMemoryMs: Int64 = 90_000
    /// Capabilities remembered as polled for, at most (stale ones go first).
    public static let maxPolledCapabilities = 1024
    /// Lease lengths a worker may ask for.
    public static let leaseRange = Duration.seconds(1)...Duration.seconds(600)
    /// Tasks waiting for a worker at which this agent calls itself busy.
    public static let busyQueue = 100

    private let me: AgentID
    private let skills: Set<String>
    private var tasks: RememberedTasks<Incoming>
    private var queues: [String: [TaskID]] = [:]
    private var queued = 0
    /// Nonces of tasks seen, per caller: a replay before the task's deadline is refused by
    /// its nonce, after it by the deadline check, so each is kept until then; the heap
    /// orders them by deadline, so forgetting the expired ones costs only those.
    private var seenNonces: Set<SeenNonce> = []
    private let maxSeenNonces: Int
    private var nonceExpiry = Heap<NonceExpiry>()
    private var polledAtMs: [String: Int64] = [:]
    /// Capabilities (lowercased) served by in-process handlers, and the tasks they run.
    private var handled: Set<String> = []
    private var running: Set<TaskID> = []

    public init(
        me: AgentID, skills: [String], remember: Int = WorkerTasks.maxRemembered, maxSeenNonces: Int = WorkerTasks.maxSeenNonces
    ) {
        self.me = me
        self.maxSeenNonces = maxSeenNonces
        self.skills = Set(skills.map { $0.lowercased() })
        tasks = RememberedTasks(limit: remember)
    }

    /// Whether so many tasks wait here that this agent should be announced as busy.
    public var isBusy: Bool { queued >= Self.busyQueue }
    /// Whether a task here may still run out of lease or deadline (`sweep` has work).
    public var hasLiveTasks: Bool { tasks.hasUnended }

    /// Whether this agent takes tasks for `capability`: announced, served in process, or
    /// a worker asked for it within the last minute.
    public func offers(_ capability: String, nowMs: Int64) -> Bool {
        let name = capability.lowercased()
        if skills.contains(name) || handled.contains(name) { return true }
        guard let last = polledAtMs[name] else { return false }
        return nowMs - last < Self.pollerMemoryMs
    }

    /// Capabilities (lowercased) this agent takes beyond its configured skills: served by an
    /// in-process handler, or asked for by a local worker within `pollerMemoryMs`. They go
    /// into the agent's record, so a worker started alone is found by capability.
    public func servedCapabilities(nowMs: Int64) -> [String] {
        let polled = polledAtMs.filter { nowMs - $0.value < Self.pollerMemoryMs }.keys
        return handled.union(polled).subtracting(skills).sorted()
    }

    /// A task as this worker sees it.
    public func view(_ id: TaskID) -> TaskView? { tasks[id]?.view }

    /// The newest `limit` tasks received, newest first.
    public func newest(_ limit: Int) -> [TaskView] { tasks.newest(limit).map(\.view) }

    /// Tasks for `capability` run an in-process handler from now on.
    public mutating func registerHandler(_ capability: String) {
        handled.insert(capability.lowercased())
    }

    /// A handler's run ended (with a result posted through `finish`, or cancelled).
    public mutating func handlerEnded(_ id: TaskID) {
        running.remove(id)
    }

    // MARK: - From callers

    /// A task submitted by `caller`: refused (with the reason sent back), handed to an
    /// in-process handler, or queued for a worker.
    public mutating func receive(_ id: TaskID, submit: Plexus_TaskSubmit, from caller: AgentID, nowMs: Int64) -> [Action] {
        func refuse(_ code: PlexusError.Code, _ message: String) -> [Action] {
            [.notify(caller, Self.update(id, .rejected, message: message, code: code))]
        }
        let nonce = TaskID(bytes: submit.nonce).map { SeenNonce(caller: caller, nonce: $0) }
        if tasks[id] != nil || nonce.map(seenNonces.contains) == true {
            return refuse(.securityError, "task \(id) was seen before: replays are refused")
        }
        guard let nonce, Capability.isValid(submit.capability) else {
            return refuse(.contractViolation, "a task needs a capability (1-\(Capability.maxCharacters) characters) and a 16-byte nonce")
        }
        guard Int64(clamping: submit.deadlineMs) > nowMs else {
            return refuse(.timeout, "the task's deadline has already passed")
        }
        guard Int64(clamping: submit.deadlineMs) - nowMs <= Self.maxDeadlineAheadMs else {
            return refuse(.contractViolation, "the task's deadline is more than \(Self.maxDeadlineAheadMs / 60_000) minutes ahead")
        }
        guard offers(submit.capability, nowMs: nowMs) else {
            return refuse(.rejected, "this agent does not offer '\(submit.capability)'")
        }
        guard queued + running.count < Self.maxQueued else {
            return refuse(.resourceExhausted, "\(Self.maxQueued) tasks already wait here")
        }
        guard seenNonces.count < maxSeenNonces else {
            return refuse(.resourceExhausted, "\(maxSeenNonces) recent tasks' nonces are held here until their deadlines; try again later")
        }
        var view = TaskView(
            id: id, role: .worker, caller: caller, worker: me, capability: submit.capability, state: .submitted,
            payload: try? JSONValue(parsing: submit.payload), createdMs: nowMs, deadlineMs: Int64(clamping: submit.deadlineMs))
        view.deliveries = 0
        seenNonces.insert(nonce)
        nonceExpiry.insert(NonceExpiry(deadlineMs: view.deadlineMs, nonce: nonce))
        let capability = submit.capability.lowercased()
        if handled.contains(capability) {
            view.state = .working
            view.deliveries = 1
            tasks.insert(Incoming(view: view))
            running.insert(id)
            return [.run(view)]
        }
        tasks.insert(Incoming(view: view))
        return enqueue(id, capability: capability, front: false)
    }

    /// The caller cancelled: the task ends, and a worker holding it sees `canceled`.
    public mutating func cancel(_ id: TaskID, from caller: AgentID, nowMs: Int64) -> [Action] {
        guard var task = tasks[id], task.view.caller == caller, !task.view.state.isTerminal else { return [] }
        task.view.state = .canceled
        task.view.updatedMs = TaskView.changeTime(after: task.view.updatedMs, nowMs)
        task.leaseUntilMs = nil
        tasks[id] = task
        dequeue(id, capability: task.view.capability.lowercased())
        var actions: [Action] = running.contains(id) ? [.stopHandler(id)] : []
        actions += [.changed(id), .notify(caller, Self.update(id, .canceled, message: "canceled by the caller"))]
        return actions
    }

    // MARK: - From local workers

    /// A worker asks for a task of `capability` (which counts it as offered for a minute):
    /// the oldest waiting one, leased for `lease`, or nil when none waits.
    public mutating func lease(_ capability: String, for lease: Duration, nowMs: Int64) -> (TaskView?, [Action]) {
        let name = capability.lowercased()
        if polledAtMs[name] == nil, polledAtMs.count >= Self.maxPolledCapabilities {
            polledAtMs = polledAtMs.filter { nowMs - $0.value < Self.pollerMemoryMs }
            if polledAtMs.count >= Self.maxPolledCapabilities, let oldest = polledAtMs.min(by: { $0.value < $1.value })?.key {
                polledAtMs.removeValue(forKey: oldest)
            }
        }
        polledAtMs[name] = nowMs
        while var ids = queues[name], !ids.isEmpty {
            let id = ids.removeFirst()
            queues[name] = ids.isEmpty ? nil : ids
            queued -= 1
            guard var task = tasks[id], task.view.state == .submitted else { continue }
            task.leaseMs = Self.milliseconds(lease)
            task.leaseUntilMs = nowMs + task.leaseMs
            task.view.state = .working
            task.view.deliveries = (task.view.deliveries ?? 0) + 1
            task.view.leaseExpiresMs = task.leaseUntilMs
            task.view.updatedMs = TaskView.changeTime(after: task.view.updatedMs, nowMs)
            tasks[id] = task
            var actions: [Action] = [.changed(id)]
            if task.view.deliveries == 1 {
                actions.append(.notify(task.view.caller, Self.update(id, .working, message: "taken by a worker")))
            }
            return (task.view, actions)
        }
        return (nil, [])
    }

    /// Progress from the worker holding the task: passed to the caller; renews the lease.
    /// Refused while the task waits to be handed out again (its lease ran out): no worker
    /// holds it then, and the caller must not hear that one is at work.
    public mutating func progress(_ id: TaskID, message: String, nowMs: Int64) throws(PlexusError) -> (TaskView, [Action]) {
        var task = try held(id)
        guard !task.view.state.isTerminal else { return (task.view, []) }
        guard task.view.state != .submitted else {
            throw PlexusError(.contractViolation, "the lease on task \(id) ran out: lease it again (tasks/next) before reporting progress")
        }
        task.view.message = message
        task.view.updatedMs = TaskView.changeTime(after: task.view.updatedMs, nowMs)
        if task.leaseUntilMs != nil {
            task.leaseUntilMs = nowMs + task.leaseMs
            task.view.leaseExpiresMs = task.leaseUntilMs
        }
        tasks[id] = task
        return (task.view, [.changed(id), .notify(task.view.caller, Self.update(id, .working, message: message))])
    }

    /// The result (or error; no result is a null result) of the task: sent to the caller
    /// once. Posting the same outcome again answers with the task as it is; a different one
    /// after the task ended is a `contractViolation`.
    public mutating func finish(_ id: TaskID, with outcome: TaskResultRequest, nowMs: Int64) throws(PlexusError) -> (TaskView, [Action]) {
        var task = try held(id)
        if task.view.state.isTerminal {
            let same = task.view.result == (outcome.error == nil ? outcome.result ?? .null : nil) && task.view.error == outcome.error
            if same || task.view.state == .canceled { return (task.view, []) }
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
            message.update.result = (try? task.view.result?.transportData()) ?? Data("null".utf8)
            update = message
        }
        // A result from a worker whose lease ran out while the task waited to be handed
        // out again: it no longer waits.
        dequeue(id, capability: task.view.capability.lowercased())
        task.view.updatedMs = TaskView.changeTime(after: task.view.updatedMs, nowMs)
        task.leaseUntilMs = nil
        tasks[id] = task
        return (task.view, [.changed(id), .notify(task.view.caller, update)])
    }

    // MARK: - Time

    /// Hands out again the tasks whose lease ran out and ends those past their deadline.
    public mutating func sweep(nowMs: Int64) -> [Action] {
        var actions: [Action] = []
        for (id, task) in tasks.live() {
            if task.view.deadlineMs <= nowMs {
                var ended = task
                ended.view.state = .failed
                ended.view.error = .init(code: PlexusError.Code.timeout.rawValue, message: "the deadline passed")
                ended.view.updatedMs = TaskView.changeTime(after: ended.view.updatedMs, nowMs)
                ended.leaseUntilMs = nil
                tasks[id] = ended
                dequeue(id, capability: task.view.capability.lowercased())
                if running.contains(id) { actions.append(.stopHandler(id)) }
                actions.append(.changed(id))
            } else if let until = task.leaseUntilMs, until <= nowMs {
                var expired = task
                expired.leaseUntilMs = nil
                expired.view.state = .submitted
                expired.view.leaseExpiresMs = nil
                tasks[id] = expired
                actions.append(.changed(id))
                actions += enqueue(id, capability: task.view.capability.lowercased(), front: true)
            }
        }
        while let first = nonceExpiry.min, first.deadlineMs <= nowMs {
            nonceExpiry.removeMin()
            seenNonces.remove(first.nonce)
        }
        return actions
    }

    // MARK: - Internals

    /// A task's nonce as seen from one caller, kept as a 64-bit digest of the two (8 bytes
    /// instead of 24 and a hash of 48). Two pairs that share a digest refuse the later task
    /// as a replay: about once in 10^13 tasks with two million held, and not to be arranged
    /// by a caller, the digest being keyed by the process's random hashing seed.
    private struct SeenNonce: Hashable, Sendable {
        let digest: Int

        init(caller: AgentID, nonce: TaskID) {
            var hasher = Hasher()
            hasher.combine(caller)
            hasher.combine(nonce)
            digest = hasher.finalize()
        }
    }

    /// When a seen nonce may be forgotten.
    private struct NonceExpiry: Comparable, Sendable {
        let deadlineMs: Int64
        let nonce: SeenNonce

        static func < (lhs: Self, rhs: Self) -> Bool { lhs.deadlineMs < rhs.deadlineMs }
        static func == (lhs: Self, rhs: Self) -> Bool { lhs.deadlineMs == rhs.deadlineMs && lhs.nonce == rhs.nonce }
    }

    private func held(_ id: TaskID) throws(PlexusError) -> Incoming {
        guard let task = tasks[id] else { throw PlexusError(.notFound, "no task \(id) here") }
        return task
    }

    private mutating func enqueue(_ id: TaskID, capability: String, front: Bool) -> [Action] {
        if front { queues[capability, default: []].insert(id, at: 0) } else { queues[capability, default: []].append(id) }
        queued += 1
        return [.available(capability)]
    }

    private mutating func dequeue(_ id: TaskID, capability: String) {
        guard let index = queues[capability]?.firstIndex(of: id) else { return }
        queues[capability]?.remove(at: index)
        if queues[capability]?.isEmpty == true { queues[capability] = nil }
        queued -= 1
    }

    /// A task update message.
    public static func update(_ id: TaskID, _ state: TaskState, message: String, code: PlexusError.Code? = nil) -> Plexus_Task {
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
