import Foundation
import Logging
import PlexusCore
import PlexusNet
import PlexusStore

/// The caller side of tasks (DESIGN §8): sends a task to an agent, or to an agent offering
/// a capability, and follows it to its end. Routing: a connected peer; else a dial to an
/// address from the target's directory record (its id pinned); else `noRoute` at once.
/// Updates are accepted only from the worker the task went to; the task fails with
/// `timeout` at its deadline (and the worker is told to cancel).
actor TaskRouter {
    /// Tasks remembered (finished ones are forgotten first beyond this).
    static let maxRemembered = 10_000

    private struct Outgoing: TaskRecord {
        var view: TaskView
        /// The relay the task went through, if it did.
        var relay: AgentID?
    }

    private let me: AgentID
    private let mesh: ConnectionManager
    private let inbox: TaskInbox
    private let directory: @Sendable (AgentQuery) async throws(PlexusError) -> [AgentView]
    private let lookup: @Sendable (AgentID) async throws(PlexusError) -> AgentView
    /// Signs a message for a target reached through a relay.
    private let seal: @Sendable (Plexus_Task, AgentID) -> Plexus_Task
    private let maxPayloadBytes: Int
    private let logger: Logger
    private var tasks = RememberedTasks<Outgoing>(limit: TaskRouter.maxRemembered)
    private var watchers = Waiters<TaskID>()

    init(
        me: AgentID, mesh: ConnectionManager, inbox: TaskInbox, maxPayloadBytes: Int, logger: Logger,
        seal: @escaping @Sendable (Plexus_Task, AgentID) -> Plexus_Task,
        directory: @escaping @Sendable (AgentQuery) async throws(PlexusError) -> [AgentView],
        lookup: @escaping @Sendable (AgentID) async throws(PlexusError) -> AgentView
    ) {
        self.me = me
        self.mesh = mesh
        self.inbox = inbox
        self.maxPayloadBytes = maxPayloadBytes
        self.logger = logger
        self.directory = directory
        self.lookup = lookup
        self.seal = seal
    }

    /// Sends a task; returns it as submitted (or as it is after `waitMs`).
    func send(_ request: SendTaskRequest) async throws(PlexusError) -> TaskView {
        let timeoutMs = request.timeoutMs ?? SendTaskRequest.defaultTimeoutMs
        guard (1...SendTaskRequest.maxTimeoutMs).contains(timeoutMs) else {
            throw PlexusError(.invalidArgument, "timeout_ms must be between 1 and \(SendTaskRequest.maxTimeoutMs)")
        }
        let waitMs = request.waitMs ?? 0
        guard (0...FeedRequest.maxWaitMs).contains(waitMs) else {
            throw PlexusError(.invalidArgument, "wait_ms must be between 0 and \(FeedRequest.maxWaitMs)")
        }
        guard !request.capability.isEmpty, request.capability.count <= 128 else {
            throw PlexusError(.invalidArgument, "capability must be 1 to 128 characters")
        }
        let payload: Data
        do {
            payload = try JSONEncoder.compact.encode(request.payload)
        } catch {
            throw PlexusError(.invalidArgument, "the payload is not JSON: \(error)")
        }
        guard payload.count <= maxPayloadBytes else {
            throw PlexusError(.tooLarge, "the payload is \(payload.count) bytes; at most \(maxPayloadBytes)")
        }
        let worker = try await chooseWorker(request)
        let id = TaskID.random()
        let now = EntryStore.wallClockMs()
        let view = TaskView(
            id: id, role: .caller, caller: me, worker: worker, capability: request.capability, state: .submitted,
            payload: request.payload, createdMs: now, deadlineMs: now + Int64(timeoutMs))
        var frame = Plexus_Task()
        frame.id = Data(id.bytes)
        frame.submit = .with {
            $0.capability = request.capability
            $0.payload = payload
            $0.deadlineMs = UInt64(view.deadlineMs)
            $0.nonce = Data(TaskID.random().bytes)
        }
        tasks.insert(Outgoing(view: view))
        if worker == me {
            await inbox.receive(id, submit: frame.submit, from: me)
        } else {
            try await route(frame, to: worker)
        }
        return try await self.view(id, waitingFor: .milliseconds(waitMs))
    }

    /// A task this node sent; `wait` long-polls until it ends.
    func view(_ id: TaskID, waitingFor wait: Duration = .zero) async throws(PlexusError) -> TaskView {
        guard let task = tasks[id] else { throw PlexusError(.notFound, "no task \(id) sent from here") }
        if wait > .zero, !task.view.state.isTerminal {
            let deadline = ContinuousClock.now + wait
            while ContinuousClock.now < deadline, tasks[id]?.view.state.isTerminal == false, !Task.isCancelled {
                await withCheckedContinuation { watchers.add(id, until: deadline, $0) }
            }
        }
        return tasks[id]?.view ?? task.view
    }

    func has(_ id: TaskID) -> Bool { tasks[id] != nil }

    /// Tasks this node sent, newest first.
    func list(limit: Int) -> [TaskView] {
        tasks.newest(limit).map(\.view)
    }

    /// Cancels a task: the worker is told, and the task ends as `canceled`.
    func cancel(_ id: TaskID) async throws(PlexusError) -> TaskView {
        guard var task = tasks[id] else { throw PlexusError(.notFound, "no task \(id) sent from here") }
        guard !task.view.state.isTerminal else { return task.view }
        task.view.state = .canceled
        task.view.updatedMs = EntryStore.wallClockMs()
        tasks[id] = task
        watchers.wakeAll(id)
        if let worker = task.view.worker { await tell(worker, cancel: id, via: task.relay) }
        return task.view
    }

    /// An update from `peer` about a task this node sent.
    func receive(_ id: TaskID, update: Plexus_TaskUpdate, from peer: AgentID) {
        guard var task = tasks[id] else { return }
        guard task.view.worker == peer else {
            logger.warning("task update from a peer the task was not sent to: ignored", metadata: ["task": "\(id)", "peer": "\(peer.short)"])
            return
        }
        guard !task.view.state.isTerminal, let state = TaskState(rawValue: update.state) else { return }
        task.view.state = state
        task.view.updatedMs = EntryStore.wallClockMs()
        if !update.message.isEmpty { task.view.message = update.message }
        switch state {
        case .completed:
            task.view.result = (try? JSONValue(parsing: update.result)) ?? .null
        case .failed, .rejected:
            task.view.error = .init(code: update.errorCode.isEmpty ? PlexusError.Code.dependencyError.rawValue : update.errorCode, message: update.message)
        default:
            break
        }
        tasks[id] = task
        watchers.wakeAll(id)
    }

    /// Fails tasks past their deadline (telling their workers) and wakes expired waiters.
    func sweep() async {
        let wall = EntryStore.wallClockMs()
        for (id, task) in tasks.live() where task.view.deadlineMs <= wall {
            var ended = task
            ended.view.state = .failed
            ended.view.error = .init(code: PlexusError.Code.timeout.rawValue, message: "no result before the deadline")
            ended.view.updatedMs = wall
            tasks[id] = ended
            watchers.wakeAll(id)
            if let worker = task.view.worker { await tell(worker, cancel: id, via: task.relay) }
        }
        watchers.wakeExpired(now: .now)
    }

    // MARK: - Routing

    /// The agent to send to: `to` (whose record must meet the requirements, when given); or
    /// this node, when a local worker offers the capability and there are no requirements;
    /// or, among the agents in the directory offering it and meeting every requirement, the
    /// one with the fewest tasks from here in flight, connected and online ones first.
    private func chooseWorker(_ request: SendTaskRequest) async throws(PlexusError) -> AgentID {
        let requirements = try (request.require ?? []).map { text throws(PlexusError) in try Requirement.parse(text) }
        if let to = request.to {
            if !requirements.isEmpty {
                let record = try? await lookup(to).record
                guard let record, requirements.allSatisfy({ $0.isMet(by: record) }) else {
                    throw PlexusError(.noRoute, "agent \(to) does not meet \(requirements.map(\.description).joined(separator: ", ")) (or has no current record)")
                }
            }
            return to
        }
        if requirements.isEmpty, await inbox.offers(request.capability) { return me }
        let candidates = try await directory(AgentQuery(capability: request.capability)).filter { agent in
            agent.agentID != me && requirements.allSatisfy { $0.isMet(by: agent.record) }
        }
        guard !candidates.isEmpty else {
            let condition = requirements.isEmpty ? "" : " meeting \(requirements.map(\.description).joined(separator: ", "))"
            throw PlexusError(.noRoute, "no agent in the directory offers '\(request.capability)'\(condition)")
        }
        let connected = Set(await mesh.peers().compactMap(\.agentID))
        var load: [AgentID: Int] = [:]
        for (_, task) in tasks.live() {
            if let worker = task.view.worker { load[worker, default: 0] += 1 }
        }
        let ranked = candidates.sorted { lhs, rhs in
            func rank(_ agent: AgentView) -> (Int, Int, Int) {
                (load[agent.agentID] ?? 0, connected.contains(agent.agentID) ? 0 : 1, agent.presence == .online ? 0 : 1)
            }
            return rank(lhs) < rank(rhs)
        }
        return ranked[0].agentID
    }

    /// Sends a frame to `worker`: over the connection; or after dialling an address from its
    /// directory record; or, signed, through a relay its record names that is connected here.
    private func route(_ task: Plexus_Task, to worker: AgentID) async throws(PlexusError) {
        let frame = Plexus_Frame.with { $0.task = task }
        if await mesh.sendWaiting([frame], to: worker) { return }
        let record = (try? await lookup(worker))?.record
        let addresses = record?.addresses ?? []
        for address in addresses {
            guard let target = try? HostPort.parse(address, defaultHost: "127.0.0.1"), target.host != "0.0.0.0" else { continue }
            do {
                _ = try await mesh.connect(host: target.host, port: target.port, expectedPeer: worker)
            } catch {
                continue
            }
            if await mesh.sendWaiting([frame], to: worker) { return }
        }
        let sealed = Plexus_Frame.with { $0.task = seal(task, worker) }
        for relay in record?.relays ?? [] where relay != me {
            if await mesh.sendWaiting([sealed], to: relay) {
                if let id = TaskID(bytes: task.id) { tasks[id]?.relay = relay }
                return
            }
        }
        forgetUnsent(TaskID(bytes: task.id))
        throw PlexusError(
            .noRoute, "agent \(worker) is not connected, cannot be dialled"
                + (addresses.isEmpty ? " (it announces no address)" : " at \(addresses.joined(separator: ", "))")
                + " and no relay it names is connected here")
    }

    private func tell(_ worker: AgentID, cancel id: TaskID, via relay: AgentID?) async {
        if worker == me {
            await inbox.cancel(id, from: me)
            return
        }
        var task = Plexus_Task()
        task.id = Data(id.bytes)
        task.cancel = true
        if await mesh.sendWaiting([Plexus_Frame.with { $0.task = task }], to: worker) { return }
        if let relay {
            let sealed = seal(task, worker)
            _ = await mesh.sendWaiting([Plexus_Frame.with { $0.task = sealed }], to: relay)
        }
    }

    private func forgetUnsent(_ id: TaskID?) {
        guard let id else { return }
        tasks.remove(id)
    }
}
