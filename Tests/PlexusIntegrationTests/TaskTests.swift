import Foundation
import Logging
import PlexusClient
import PlexusCore
import PlexusNet
import PlexusNode
import Testing

/// Tasks between real nodes: sent to an agent or a capability, worked on through the pull
/// API, cancelled, timed out, handed out again when a lease runs out, replays refused, and
/// many at once.
@Suite(.serialized) struct TaskTests {
    /// A worker loop over the pull API: takes tasks for `capability`, waits `handling`, and
    /// answers `{"echo": payload}`, until `count` are done.
    static func work(_ client: NodeClient, capability: String, count: Int, handling: Duration = .zero) async throws -> [TaskView] {
        var done: [TaskView] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while done.count < count, ContinuousClock.now < deadline {
            guard let task = try await client.nextTask(capability: capability, waitMs: 5_000, leaseMs: 30_000) else { continue }
            if handling > .zero { try await Task.sleep(for: handling) }
            done.append(try await client.finishTask(task.id, with: TaskResultRequest(result: .object(["echo": task.payload ?? .null]))))
        }
        return done
    }

    @Test func aTaskGoesToAnAgentOrACapabilityAndItsResultComesBack() async throws {
        let worker = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--capability", "echo"], announce: true)
        let caller = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", worker.meshAddress])
        let workerID = try await worker.client.identity().agentID
        try await MeshTests.eventually("the caller knows the worker's record") { (try? await caller.client.agent(workerID)) != nil }

        // Direct, by id, with progress.
        let sent = try await caller.client.sendTask(SendTaskRequest(to: workerID, capability: "echo", payload: .object(["n": .integer(1)])))
        #expect(sent.state == .submitted)
        #expect(sent.worker == workerID)
        let leased = try #require(try await worker.client.nextTask(capability: "echo", waitMs: 10_000, leaseMs: 30_000))
        #expect(leased.id == sent.id)
        #expect(leased.caller == (try await caller.client.identity().agentID))
        #expect(leased.payload == .object(["n": .integer(1)]))
        // A caller following the task with after_ms is answered by the progress, not the end.
        let seen = try await caller.client.task(sent.id, waitMs: 0)
        let workerClient0 = worker.client
        let reporting = Task {
            try await Task.sleep(for: .milliseconds(200))
            _ = try await workerClient0.taskProgress(leased.id, message: "halfway")
        }
        let changed = try await caller.client.task(sent.id, waitMs: 20_000, changedAfterMs: seen.updatedMs)
        try await reporting.value
        #expect(changed.message == "halfway" && changed.state == .working && changed.updatedMs > seen.updatedMs)
        // Without a change after the time given, the wait runs out and returns it unchanged.
        let unchanged = try await caller.client.task(sent.id, waitMs: 300, changedAfterMs: changed.updatedMs)
        #expect(unchanged == changed)
        let finished = try await worker.client.finishTask(leased.id, with: TaskResultRequest(result: .object(["ok": .bool(true)])))
        #expect(finished.state == .completed)
        let done = try await caller.client.task(sent.id, waitMs: 10_000)
        #expect(done.state == .completed)
        #expect(done.result == .object(["ok": .bool(true)]))
        // The same result again is harmless; a different one is refused.
        #expect(try await worker.client.finishTask(leased.id, with: TaskResultRequest(result: .object(["ok": .bool(true)]))).state == .completed)
        await #expect(throws: PlexusError.self) {
            _ = try await worker.client.finishTask(leased.id, with: TaskResultRequest(result: .string("other")))
        }

        // By capability: the directory names the worker. Sent with wait_ms, answered when done.
        let workerClient = worker.client
        let working = Task { try await Self.work(workerClient, capability: "echo", count: 1) }
        let byCapability = try await caller.client.sendTask(
            SendTaskRequest(capability: "echo", payload: .string("hi"), waitMs: 20_000))
        #expect(byCapability.worker == workerID)
        #expect(byCapability.state == .completed)
        #expect(byCapability.result == .object(["echo": .string("hi")]))
        _ = try await working.value

        // Nobody offers it, or nobody is there: a clear error at once.
        let unknownCapability = await #expect(throws: PlexusError.self) {
            _ = try await caller.client.sendTask(SendTaskRequest(capability: "juggling", payload: .null))
        }
        #expect(unknownCapability?.code == .noRoute)
        let unknownAgent = await #expect(throws: PlexusError.self) {
            _ = try await caller.client.sendTask(SendTaskRequest(to: AgentKey().id, capability: "echo", payload: .null))
        }
        #expect(unknownAgent?.code == .noRoute)
        // The worker does not offer this: rejected.
        let refused = try await caller.client.sendTask(SendTaskRequest(to: workerID, capability: "juggling", payload: .null, waitMs: 10_000))
        #expect(refused.state == .rejected)
        #expect(refused.error?.code == "rejected")
        for node in [caller, worker] { _ = try await node.stop() }
    }

    @Test func cancelReachesTheWorkerAndDeadlinesEndTasks() async throws {
        let worker = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--capability", "slow"])
        let caller = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", worker.meshAddress])
        let workerID = try await worker.client.identity().agentID
        try await MeshTests.eventually("connected") { !(try await caller.client.connectedPeers().isEmpty) }

        let sent = try await caller.client.sendTask(SendTaskRequest(to: workerID, capability: "slow", payload: .null))
        let leased = try #require(try await worker.client.nextTask(capability: "slow", waitMs: 10_000, leaseMs: 30_000))
        #expect(try await caller.client.cancelTask(sent.id).state == .canceled)
        let seenByWorker = try await worker.client.task(leased.id, waitMs: 10_000)
        #expect(seenByWorker.state == .canceled)
        // A result after the cancel changes nothing.
        #expect(try await worker.client.finishTask(leased.id, with: TaskResultRequest(result: .null)).state == .canceled)

        let late = try await caller.client.sendTask(SendTaskRequest(to: workerID, capability: "slow", payload: .null, timeoutMs: 300))
        let timedOut = try await caller.client.task(late.id, waitMs: 10_000)
        #expect(timedOut.state == .failed)
        #expect(timedOut.error?.code == "timeout")
        try await MeshTests.eventually("the worker dropped it too") {
            try await worker.client.task(late.id, waitMs: 0).state.isTerminal
        }
        // It is not handed out any more.
        #expect(try await worker.client.nextTask(capability: "slow", waitMs: 0, leaseMs: 30_000) == nil)
        for node in [caller, worker] { _ = try await node.stop() }
    }

    @Test func anExpiredLeaseHandsTheTaskOutAgain() async throws {
        let worker = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--capability", "flaky"])
        let caller = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", worker.meshAddress])
        let workerID = try await worker.client.identity().agentID
        try await MeshTests.eventually("connected") { !(try await caller.client.connectedPeers().isEmpty) }
        let sent = try await caller.client.sendTask(SendTaskRequest(to: workerID, capability: "flaky", payload: .null))
        let first = try #require(try await worker.client.nextTask(capability: "flaky", waitMs: 10_000, leaseMs: 1_000))
        #expect(first.deliveries == 1)
        // The first worker never answers; after its lease the task goes to the next one.
        let second = try #require(try await worker.client.nextTask(capability: "flaky", waitMs: 10_000, leaseMs: 30_000))
        #expect(second.id == sent.id)
        #expect(second.deliveries == 2)
        _ = try await worker.client.finishTask(second.id, with: TaskResultRequest(result: .string("second time")))
        #expect(try await caller.client.task(sent.id, waitMs: 10_000).result == .string("second time"))
        for node in [caller, worker] { _ = try await node.stop() }
    }

    @Test func aReplayedTaskIsRefusedAndRunsOnce() async throws {
        let worker = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--capability", "once"])
        let adversary = try await GossipAbuseTests.Adversary(dialling: worker.meshAddress)
        var task = Plexus_Task()
        task.id = Data(TaskID.random().bytes)
        task.submit = .with {
            $0.capability = "once"
            $0.payload = Data("{}".utf8)
            $0.deadlineMs = UInt64(Date().timeIntervalSince1970 * 1000) + 60_000
            $0.nonce = Data(TaskID.random().bytes)
        }
        let frame = Plexus_Frame.with { $0.task = task }
        #expect(adversary.manager.send([frame], to: adversary.node))
        #expect(adversary.manager.send([frame], to: adversary.node))  // the same submit again
        let frames = adversary.tasks
        let reply = try #require(await withTaskGroup(of: (AgentID, Plexus_Task)?.self) { group in
            group.addTask {
                for await case .frame(let peer, let frame) in frames {
                    if case .task(let task)? = frame.kind { return (peer, task) }
                }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(20))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        })
        #expect(reply.1.update.state == "rejected")
        #expect(reply.1.update.errorCode == "securityError")
        // Exactly one task to work on.
        #expect(try await worker.client.nextTask(capability: "once", waitMs: 1_000, leaseMs: 30_000) != nil)
        #expect(try await worker.client.nextTask(capability: "once", waitMs: 0, leaseMs: 30_000) == nil)
        _ = try await worker.stop()
    }

    @Test func aHundredTasksAtOnceWithTenMillisecondHandlers() async throws {
        let worker = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--capability", "echo"])
        let caller = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", worker.meshAddress])
        let workerID = try await worker.client.identity().agentID
        try await MeshTests.eventually("connected") { !(try await caller.client.connectedPeers().isEmpty) }
        let workerClient = worker.client
        let callerClient = caller.client
        let workers = (0..<10).map { _ in
            Task { try await Self.work(workerClient, capability: "echo", count: 10, handling: .milliseconds(10)) }
        }
        let results = try await withThrowingTaskGroup(of: TaskView.self) { group in
            for index in 0..<100 {
                group.addTask {
                    try await callerClient.sendTask(SendTaskRequest(
                        to: workerID, capability: "echo", payload: .integer(Int64(index)), waitMs: 30_000))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 100)
        #expect(results.allSatisfy { $0.state == .completed })
        #expect(Set(results.compactMap { $0.result?.objectValue?["echo"] }) == Set((0..<100).map { JSONValue.integer(Int64($0)) }))
        for task in workers { _ = try await task.value }
        for node in [caller, worker] { _ = try await node.stop() }
    }

    /// `plexus worker` runs a command per task (payload on stdin, stdout the result), and the
    /// CLI sends, waits and lists.
    @Test func theWorkerCommandAnswersTasksFromTheCLI() async throws {
        let worker = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--capability", "upper"])
        let caller = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", worker.meshAddress])
        let workerID = try await worker.client.identity().agentID
        try await MeshTests.eventually("connected") { !(try await caller.client.connectedPeers().isEmpty) }
        let workerDirectory = worker.directory.path
        let lane = Task {
            try await runPlexus(
                ["worker", "--data", workerDirectory, "--capability", "upper", "--exec", "tr a-z A-Z", "--count", "1", "--concurrency", "1"],
                home: workerDirectory, timeout: .seconds(60))
        }
        let sent = try await runPlexus(
            ["task", "send", "--data", caller.directory.path, "--json", "--to", workerID.description, "--capability", "upper", "--wait",
             "--timeout", "30", #""shout this""#],
            home: caller.directory.path, timeout: .seconds(60))
        #expect(sent.status == 0, "\(sent.stderr)")
        let view = try JSONDecoder().decode(TaskView.self, from: Data(sent.stdout.utf8))
        #expect(view.state == .completed)
        #expect(view.result == .string("SHOUT THIS"))
        #expect(try await lane.value.status == 0)
        let listed = try await runPlexus(["tasks", "--data", caller.directory.path], home: caller.directory.path)
        #expect(listed.stdout.contains("\(view.id)  completed  upper"))
        for node in [caller, worker] { _ = try await node.stop() }
    }

    /// A node started with no capability, whose local `plexus worker` polls for one, is found
    /// by that capability within seconds, and `plexus task send` (waiting by default) prints
    /// the worker's answer; before the worker polls, nobody offers it.
    @Test func aWorkerStartedAloneIsFoundByCapabilityAndAnswersTheCLI() async throws {
        let worker = try await ServeProcess(directory: try MeshTests.directory(), announce: true)
        let caller = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", worker.meshAddress])
        let workerID = try await worker.client.identity().agentID
        try await MeshTests.eventually("the caller has the worker's record") { (try? await caller.client.agent(workerID)) != nil }
        let before = try await runPlexus(
            ["task", "send", "--data", caller.directory.path, "--json", "--capability", "upper", "--timeout", "30", "early"],
            home: caller.directory.path, timeout: .seconds(60))
        #expect(before.status != 0)
        #expect(before.stdout.contains("noRoute") || before.stderr.contains("noRoute"), "\(before.stdout) \(before.stderr)")

        let workerDirectory = worker.directory.path
        let lane = Task {
            try await runPlexus(
                ["worker", "--data", workerDirectory, "--capability", "upper", "--exec", "tr a-z A-Z", "--count", "1", "--concurrency", "1"],
                home: workerDirectory, timeout: .seconds(60))
        }
        try await MeshTests.eventually("the caller finds the worker by capability") {
            try await caller.client.agents(AgentQuery(capability: "upper")).map(\.agentID) == [workerID]
        }
        let sent = try await runPlexus(
            ["task", "send", "--data", caller.directory.path, "--json", "--capability", "upper", "--timeout", "30", #""shout this""#],
            home: caller.directory.path, timeout: .seconds(60))
        #expect(sent.status == 0, "\(sent.stderr)")
        let view = try JSONDecoder().decode(TaskView.self, from: Data(sent.stdout.utf8))
        #expect(view.state == .completed)
        #expect(view.worker == workerID)
        #expect(view.result == .string("SHOUT THIS"))
        #expect(try await lane.value.status == 0)
        for node in [caller, worker] { _ = try await node.stop() }
    }

    /// A worker that accepts no connections (`--listen off`, as behind NAT) is reached by a
    /// caller that cannot accept any either, through the peer both dialled, which the worker
    /// names as its relay in its record; relayed messages must carry their writer's signature.
    @Test func aWorkerBehindARelayIsReachedAndForgedRelayedTasksAreDropped() async throws {
        let relay = try await ServeProcess(directory: try MeshTests.directory())
        let relayID = try await relay.client.identity().agentID
        let worker = try await ServeProcess(
            directory: try MeshTests.directory(), arguments: ["--listen", "off", "--peer", relay.meshAddress, "--capability", "echo"],
            announce: true)
        let caller = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--listen", "off", "--peer", relay.meshAddress])
        let workerID = try await worker.client.identity().agentID
        try await MeshTests.eventually("the caller has the worker's record naming the relay") {
            (try? await caller.client.agent(workerID))?.record.relays == [relayID]
        }
        #expect(try await caller.client.agent(workerID).record.addresses.isEmpty)

        let workerClient = worker.client
        let working = Task { try await Self.work(workerClient, capability: "echo", count: 1) }
        let done = try await caller.client.sendTask(SendTaskRequest(to: workerID, capability: "echo", payload: .string("via relay"), waitMs: 20_000))
        #expect(done.state == .completed)
        #expect(done.result == .object(["echo": .string("via relay")]))
        _ = try await working.value
        #expect(!(try await caller.client.connectedPeers().contains { $0.agentID == workerID }))  // never connected directly
        #expect((try await MetricsTests.scrape(relay)["plexus_tasks_relayed_total"] ?? 0) >= 2)

        // Through the same relay: a message whose signature does not match is dropped, the
        // same message signed by its writer arrives.
        let adversary = try await GossipAbuseTests.Adversary(dialling: relay.meshAddress)
        func submit(capability: String) -> Plexus_Task {
            var task = Plexus_Task()
            task.id = Data(TaskID.random().bytes)
            task.submit = .with {
                $0.capability = capability
                $0.payload = Data("{}".utf8)
                $0.deadlineMs = UInt64(Date().timeIntervalSince1970 * 1000) + 60_000
                $0.nonce = Data(TaskID.random().bytes)
            }
            return task
        }
        var forged = RelayedTask.seal(submit(capability: "echo"), by: adversary.key, for: workerID)
        forged.origin = try await caller.client.identity().agentID.bytes.asData  // claims to be the caller
        #expect(adversary.manager.send([Plexus_Frame.with { $0.task = forged }], to: adversary.node))
        let genuine = RelayedTask.seal(submit(capability: "echo"), by: adversary.key, for: workerID)
        #expect(adversary.manager.send([Plexus_Frame.with { $0.task = genuine }], to: adversary.node))
        let arrived = try #require(try await worker.client.nextTask(capability: "echo", waitMs: 10_000, leaseMs: 30_000))
        #expect(arrived.id == TaskID(bytes: genuine.id))
        #expect(arrived.caller == adversary.key.id)
        // Frames from one peer are handled in order: the forged one came first and was dropped.
        #expect(try await worker.client.nextTask(capability: "echo", waitMs: 0, leaseMs: 30_000) == nil)
        for node in [caller, worker, relay] { _ = try await node.stop() }
    }

    /// With requirements the router picks only agents whose records meet them; among equals
    /// it spreads tasks to the one with the fewest in flight from here.
    @Test func requirementsPickTheWorkerAndLoadIsSpread() async throws {
        let big = try MeshTests.directory()
        try "agent:\n  devices:\n    - {type: gpu, model: RTX 4090, properties: {vram_gb: 24}}\n"
            .write(to: big.file("config.yaml"), atomically: true, encoding: .utf8)
        let hub = try await ServeProcess(directory: try MeshTests.directory())
        let large = try await ServeProcess(directory: big, arguments: ["--peer", hub.meshAddress, "--capability", "render"], announce: true)
        let small = try await ServeProcess(
            directory: try MeshTests.directory(), arguments: ["--peer", hub.meshAddress, "--capability", "render"], announce: true)
        let largeID = try await large.client.identity().agentID
        let smallID = try await small.client.identity().agentID
        try await MeshTests.eventually("the hub knows both workers") {
            Set(try await hub.client.agents(AgentQuery(capability: "render")).map(\.agentID)) == [largeID, smallID]
        }
        let onGPU = try await hub.client.sendTask(SendTaskRequest(capability: "render", payload: .null, require: ["gpu.vram_gb>=16"]))
        #expect(onGPU.worker == largeID)
        let modelMatch = try await hub.client.sendTask(SendTaskRequest(capability: "render", payload: .null, require: ["gpu.model~rtx"]))
        #expect(modelMatch.worker == largeID)
        let none = await #expect(throws: PlexusError.self) {
            _ = try await hub.client.sendTask(SendTaskRequest(capability: "render", payload: .null, require: ["gpu.vram_gb>=80"]))
        }
        #expect(none?.code == .noRoute)
        let direct = await #expect(throws: PlexusError.self) {
            _ = try await hub.client.sendTask(SendTaskRequest(to: smallID, capability: "render", payload: .null, require: ["device=gpu"]))
        }
        #expect(direct?.code == .noRoute)
        let malformed = await #expect(throws: PlexusError.self) {
            _ = try await hub.client.sendTask(SendTaskRequest(capability: "render", payload: .null, require: ["gpu>>9"]))
        }
        #expect(malformed?.code == .invalidArgument)

        // Nobody works on these, so each stays in flight: least-loaded alternates. (The two
        // sent above are still in flight on the large worker.)
        var counts: [AgentID: Int] = [:]
        for _ in 0..<10 {
            let task = try await hub.client.sendTask(SendTaskRequest(capability: "render", payload: .null))
            counts[try #require(task.worker), default: 0] += 1
        }
        #expect(counts[smallID] == 6)
        #expect(counts[largeID] == 4)
        for node in [hub, large, small] { _ = try await node.stop() }
    }

    /// An agent with a hundred tasks waiting announces itself busy, and idle again once they
    /// are taken.
    @Test func aPiledUpWorkerIsBusyInTheDirectory() async throws {
        let workerDirectory = try MeshTests.directory()
        try "agent:\n  announce_interval_s: 1\n".write(to: workerDirectory.file("config.yaml"), atomically: true, encoding: .utf8)
        let worker = try await ServeProcess(directory: workerDirectory, arguments: ["--capability", "pile"], announce: true)
        let caller = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", worker.meshAddress])
        let workerID = try await worker.client.identity().agentID
        try await MeshTests.eventually("the caller sees the worker online") { (try? await caller.client.agent(workerID))?.presence == .online }
        for _ in 0..<100 {
            _ = try await caller.client.sendTask(SendTaskRequest(to: workerID, capability: "pile", payload: .null))
        }
        try await MeshTests.eventually("the worker is busy") { (try? await caller.client.agent(workerID))?.presence == .busy }
        for _ in 0..<100 { _ = try await worker.client.nextTask(capability: "pile", waitMs: 1_000, leaseMs: 60_000) }
        try await MeshTests.eventually("the worker is online again") { (try? await caller.client.agent(workerID))?.presence == .online }
        for node in [caller, worker] { _ = try await node.stop() }
    }

    /// Only the worker a task went to can answer it: a result from another peer is ignored.
    /// An oversize payload is refused before anything is sent.
    @Test func forgedResultsAndOversizePayloadsAreRefused() async throws {
        let worker = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--capability", "echo"])
        let caller = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", worker.meshAddress])
        let workerID = try await worker.client.identity().agentID
        try await MeshTests.eventually("connected") { !(try await caller.client.connectedPeers().isEmpty) }
        let sent = try await caller.client.sendTask(SendTaskRequest(to: workerID, capability: "echo", payload: .string("real work")))

        let adversary = try await GossipAbuseTests.Adversary(dialling: caller.meshAddress)
        var forged = Plexus_Task()
        forged.id = Data(sent.id.bytes)
        forged.update = .with {
            $0.state = "completed"
            $0.result = Data(#""forged""#.utf8)
        }
        #expect(adversary.manager.send([Plexus_Frame.with { $0.task = forged }], to: adversary.node))
        _ = try await adversary.manager.ping(adversary.node)  // the caller has read the forged frame
        let leased = try #require(try await worker.client.nextTask(capability: "echo", waitMs: 10_000, leaseMs: 30_000))
        _ = try await worker.client.finishTask(leased.id, with: TaskResultRequest(result: .string("genuine")))
        let done = try await caller.client.task(sent.id, waitMs: 10_000)
        #expect(done.state == .completed)
        #expect(done.result == .string("genuine"))

        let oversize = await #expect(throws: PlexusError.self) {
            _ = try await caller.client.sendTask(SendTaskRequest(
                to: workerID, capability: "echo", payload: .string(String(repeating: "x", count: 100_000))))
        }
        #expect(oversize?.code == .tooLarge)
        for node in [caller, worker] { _ = try await node.stop() }
    }
}
