import PlexusCore
import PlexusProtocol

/// Tasks (DESIGN §8): what agents send each other to do, and the local worker side.
extension Node {
    /// Sends a task to an agent, or to one offering the capability.
    public nonisolated func sendTask(_ request: SendTaskRequest) async throws(PlexusError) -> TaskView {
        try await taskRouter.send(request)
    }

    /// A task sent from here or received here; `wait` long-polls: a sent task until it ends,
    /// a received one until it changes.
    public nonisolated func task(_ id: TaskID, wait: Duration = .zero, changedAfterMs: Int64? = nil) async throws(PlexusError) -> TaskView {
        try WaitTime.check(wait)
        if await taskRouter.has(id) { return try await taskRouter.view(id, waitingFor: wait, changedAfterMs: changedAfterMs) }
        return try await inbox.view(id, waitingFor: wait, changedAfterMs: changedAfterMs)
    }

    /// The capabilities this agent takes tasks for: its skills, and those its in-process
    /// handlers and local workers serve.
    public nonisolated func offeredCapabilities() async -> [String] {
        config.agent.skills + (await inbox.servedCapabilities())
    }

    /// Tasks sent from here, newest first.
    public nonisolated func sentTasks(limit: Int = 100) async -> [TaskView] {
        await taskRouter.list(limit: max(1, min(limit, 1000)))
    }

    /// Tasks received here for local workers, newest first.
    public nonisolated func receivedTasks(limit: Int = 100) async -> [TaskView] {
        await inbox.list(limit: max(1, min(limit, 1000)))
    }

    /// Cancels a task sent from here.
    public nonisolated func cancelTask(_ id: TaskID) async throws(PlexusError) -> TaskView {
        try await taskRouter.cancel(id)
    }

    /// For a local worker: leases the next task for `capability`, waiting up to `wait`.
    public nonisolated func nextTask(capability: String, wait: Duration, lease: Duration) async throws(PlexusError) -> TaskView? {
        try Capability.check(capability)
        try WaitTime.check(wait)
        guard WorkerTasks.leaseRange.contains(lease) else { throw PlexusError(.invalidArgument, "lease_ms must be between 1000 and 600000") }
        return await inbox.next(capability: capability, wait: wait, lease: lease)
    }

    /// For a local worker: progress on a task it holds.
    public nonisolated func taskProgress(_ id: TaskID, message: String) async throws(PlexusError) -> TaskView {
        try TaskProgress.check(message)
        return try await inbox.progress(id, message: message)
    }

    /// For a local worker: the result or error of a task it holds.
    public nonisolated func finishTask(_ id: TaskID, with outcome: TaskResultRequest) async throws(PlexusError) -> TaskView {
        try outcome.validate()
        return try await inbox.finish(id, with: outcome)
    }

    /// Serves `capability` in-process: each task for it runs `handler` at once (many at a
    /// time), and its return value is the result. Tasks that would be queued for pull-API
    /// workers go to the handler instead.
    public nonisolated func onTask(_ capability: String, handler: @escaping TaskHandler) async {
        await inbox.register(capability, handler: handler)
    }

    /// Routes task frames from peers and from this node to itself, and runs the timers:
    /// every 25 ms while there are tasks or waits to time, about every 275 ms while there
    /// are none (a task or a wait arriving ends the quiet pause, and the sweep follows at
    /// the busy pace: 25 ms later, not at once, so that short tasks arriving one by one do
    /// not each cycle the loop — a wake-up per task for a sweep with nothing to do).
    func runTasks() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.readTaskFrames(on: self.inbox) }
            group.addTask { await self.readLocalTasks(on: self.inbox) }
            group.addTask {
                var timing = true
                while !Task.isCancelled {
                    if !timing { await self.inbox.sweeps.pause(for: .milliseconds(250)) }
                    try? await Task.sleep(for: .milliseconds(25))
                    let inboxTiming = await self.inbox.sweep()
                    let routerTiming = await self.taskRouter.sweep()
                    timing = inboxTiming || routerTiming
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Reads task frames isolated to the inbox: a submit reaches its state machine without
    /// an actor hop, and (`dispatch`, `notify` and `sendWaiting` being `nonsending`) its
    /// answer goes out from there too; each hop saved was a thread wakeup per task.
    private func readTaskFrames(on inbox: isolated TaskInbox) async {
        for await case .frame(let peer, let frame) in taskInbound {
            if case .task(let task)? = frame.kind { await dispatch(task, from: peer) }
        }
    }

    /// Task messages from this node to itself (a local worker answering a local caller).
    private func readLocalTasks(on inbox: isolated TaskInbox) async {
        for await (peer, task) in localTasks { await dispatch(task, from: peer) }
    }

    private nonisolated(nonsending) func dispatch(_ task: Plexus_Task, from peer: AgentID) async {
        guard let id = TaskID(bytes: task.id) else { return }
        var sender = peer
        if !task.target.isEmpty {
            guard let target = AgentID(bytes: task.target) else { return }
            guard target == self.id else {
                await relay(task, to: target, from: peer)
                return
            }
            // Relayed to this node: the writer's signature, not the link, says who wrote it.
            guard let origin = RelayedTask.verifiedOrigin(of: task) else {
                logger.warning("relayed task message with a bad signature: dropped", metadata: ["task": "\(id)", "via": "\(peer.short)"])
                return
            }
            relayPaths.record(peer, for: origin)
            sender = origin
        }
        switch task.kind {
        case .submit(let submit)?:
            if let refusal = trust.refusesTask(from: sender) {
                await inbox.refuse(id, from: sender, refusal)
            } else {
                await inbox.receive(id, submit: submit, from: sender)
            }
        case .update(let update)?: await taskRouter.receive(id, update: update, from: sender)
        case .cancel?: await inbox.cancel(id, from: sender)
        case nil: break
        }
    }

    /// Forwards a task message meant for another agent when that agent is connected here
    /// (DESIGN §8: a node relays for others unless `agent: relay: false`); otherwise drops it.
    /// The target checks the signature, so a relay needs none of the task's secrets.
    private nonisolated(nonsending) func relay(_ task: Plexus_Task, to target: AgentID, from peer: AgentID) async {
        guard config.agent.relay, target != peer else { return }
        if await mesh.sendWaiting([Plexus_Frame.with { $0.task = task }], to: target) {
            relayedCounter.increment()
        }
    }
}
