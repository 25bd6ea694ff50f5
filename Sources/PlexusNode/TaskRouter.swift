import Foundation
import Logging
import PlexusCore
import PlexusNet
import PlexusProtocol

/// The caller side of tasks (DESIGN §8): chooses a worker and routes the task to it, and
/// drives `CallerTasks` (PlexusProtocol), which follows each task to its end. Routing: a
/// connected peer; else a dial to an address from the target's directory record (its id
/// pinned); else a relay the record names; else `noRoute` at once.
actor TaskRouter {
    private let me: AgentID
    private let clock: NodeClock
    private let mesh: ConnectionManager
    private let inbox: TaskInbox
    private let directory: @Sendable (AgentQuery) async throws(PlexusError) -> [AgentView]
    private let lookup: @Sendable (AgentID) async throws(PlexusError) -> AgentView
    /// Signs a message for a target reached through a relay.
    private let seal: @Sendable (Plexus_Task, AgentID) -> Plexus_Task
    private let maxPayloadBytes: Int
    private let logger: Logger
    private var tasks: CallerTasks
    private var watchers: Waiters<TaskID>
    /// Rung when a task or a wait starts: the sweeps leave their quiet pace.
    private let sweeps: Alarm

    init(
        me: AgentID, clock: NodeClock, mesh: ConnectionManager, inbox: TaskInbox, sweeps: Alarm, maxPayloadBytes: Int,
        logger: Logger,
        seal: @escaping @Sendable (Plexus_Task, AgentID) -> Plexus_Task,
        directory: @escaping @Sendable (AgentQuery) async throws(PlexusError) -> [AgentView],
        lookup: @escaping @Sendable (AgentID) async throws(PlexusError) -> AgentView
    ) {
        self.me = me
        self.clock = clock
        tasks = CallerTasks(me: me)
        self.mesh = mesh
        self.inbox = inbox
        self.sweeps = sweeps
        watchers = Waiters(sweeps: sweeps)
        self.maxPayloadBytes = maxPayloadBytes
        self.logger = logger
        self.directory = directory
        self.lookup = lookup
        self.seal = seal
    }

    /// Sends a task; returns it as submitted (or as it is after `waitMs`).
    func send(_ request: SendTaskRequest) async throws(PlexusError) -> TaskView {
        let (timeoutMs, wait) = try request.validated()
        let payload: Data
        do {
            payload = try request.payload.transportData()
        } catch {
            throw PlexusError(.invalidArgument, "the payload is not JSON: \(error)")
        }
        guard payload.count <= maxPayloadBytes else {
            throw PlexusError(.tooLarge, "the payload is \(payload.count) bytes; at most \(maxPayloadBytes)")
        }
        let worker = try await chooseWorker(request)
        let id = TaskID.random()
        sweeps.ring()
        let view = tasks.start(
            id, to: worker, capability: request.capability, payload: request.payload, timeoutMs: Int64(timeoutMs), nowMs: clock.nowMs)
        var frame = Plexus_Task()
        frame.id = Data(id.bytes)
        frame.submit = .with {
            $0.capability = request.capability
            $0.payload = payload
            $0.deadlineMs = UInt64(view.deadlineMs)
            $0.nonce = Data(RandomBytes.take(16))
        }
        if worker == me {
            await inbox.receive(id, submit: frame.submit, from: me)
        } else {
            try await route(frame, to: worker)
        }
        return try await self.view(id, waitingFor: wait)
    }

    /// A task this node sent; `wait` long-polls until it ends, or with `changedAfterMs`
    /// until it changes after that `updated_ms`.
    func view(_ id: TaskID, waitingFor wait: Duration = .zero, changedAfterMs: Int64? = nil) async throws(PlexusError) -> TaskView {
        guard let view = tasks.view(id) else { throw PlexusError(.notFound, "no task \(id) sent from here") }
        func waiting(_ current: TaskView?) -> Bool {
            guard let current, !current.state.isTerminal else { return false }
            return changedAfterMs.map { current.updatedMs <= $0 } ?? true
        }
        if wait > .zero, waiting(view) {
            let deadline = ContinuousClock.now + wait
            while ContinuousClock.now < deadline, waiting(tasks.view(id)), !Task.isCancelled {
                // A cancelled wait (its request gone, the node shutting down) ends at once.
                await withTaskCancellationHandler {
                    await withCheckedContinuation { watchers.add(id, until: deadline, $0) }
                } onCancel: {
                    Task { await self.wakeWatchers(id) }
                }
            }
        }
        return tasks.view(id) ?? view
    }

    /// Wakes those watching `id` (one was cancelled; the others look again).
    private func wakeWatchers(_ id: TaskID) { watchers.wakeAll(id) }

    func has(_ id: TaskID) -> Bool { tasks.view(id) != nil }

    /// Tasks this node sent, newest first.
    func list(limit: Int) -> [TaskView] {
        tasks.newest(limit)
    }

    /// Cancels a task: the worker is told, and the task ends as `canceled`.
    func cancel(_ id: TaskID) async throws(PlexusError) -> TaskView {
        let (view, actions) = try tasks.cancel(id, nowMs: clock.nowMs)
        await execute(actions)
        return view
    }

    /// An update from `peer` about a task this node sent.
    func receive(_ id: TaskID, update: Plexus_TaskUpdate, from peer: AgentID) async {
        let (outcome, actions) = tasks.receive(id, update: update, from: peer, nowMs: clock.nowMs)
        if outcome == .wrongSender {
            logger.warning("task update from a peer the task was not sent to: ignored", metadata: ["task": "\(id)", "peer": "\(peer.short)"])
        }
        await execute(actions)
    }

    /// Fails tasks past their deadline (telling their workers) and wakes expired waiters;
    /// returns whether anything is left to time (tasks that may run out of deadline, waits).
    func sweep() async -> Bool {
        await execute(tasks.sweep(nowMs: clock.nowMs))
        watchers.wakeExpired(now: .now)
        return tasks.hasLiveTasks || !watchers.isEmpty
    }

    private func execute(_ actions: [CallerTasks.Action]) async {
        for action in actions {
            switch action {
            case .changed(let id): watchers.wakeAll(id)
            case .cancel(let id, let worker, let relay): await tell(worker, cancel: id, via: relay)
            }
        }
    }

    // MARK: - Routing

    /// The agent to send to: `to` (whose record must meet the requirements, when given); or
    /// this node, when a local worker offers the capability and there are no requirements;
    /// or, among the agents in the directory offering it and meeting every requirement, the
    /// one with the fewest tasks from here in flight, connected and online ones first.
    private func chooseWorker(_ request: SendTaskRequest) async throws(PlexusError) -> AgentID {
        let requirements = try request.requirements()
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
        let load = tasks.load()
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
                if let id = TaskID(bytes: task.id) { tasks.relayed(id, via: relay) }
                return
            }
        }
        forgetUnsent(TaskID(bytes: task.id))
        guard record != nil else {
            throw PlexusError(.noRoute, "agent \(worker) is not connected and in no record here, in the directory or the DHT")
        }
        throw PlexusError(
            .peerUnreachable, "agent \(worker) is not connected, cannot be dialled"
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
        tasks.forget(id)
    }
}
