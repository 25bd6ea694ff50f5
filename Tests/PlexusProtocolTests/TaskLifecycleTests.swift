import Foundation
import PlexusCore
import Testing
@testable import PlexusProtocol

/// The task state machines (DESIGN §8) on a hand-moved clock, without sockets: leases,
/// redelivery, deadlines, replay windows, results accepted once, updates only from the
/// chosen worker.
@Suite struct TaskLifecycleTests {
    let caller = AgentKey().id
    let worker = AgentKey().id

    func submit(_ capability: String = "echo", deadlineMs: Int64, nonce: [UInt8] = TaskID.random().bytes) -> Plexus_TaskSubmit {
        .with {
            $0.capability = capability
            $0.payload = Data(#"{"n":1}"#.utf8)
            $0.deadlineMs = UInt64(deadlineMs)
            $0.nonce = Data(nonce)
        }
    }

    static func notified(_ actions: [WorkerTasks.Action]) -> [String] {
        actions.compactMap { action in
            if case .notify(_, let message) = action { return message.update.state + (message.update.errorCode.isEmpty ? "" : ":" + message.update.errorCode) }
            return nil
        }
    }

    @Test func aLeaseThatRunsOutHandsTheTaskOutAgainAndProgressRenewsIt() throws {
        var tasks = WorkerTasks(me: worker, skills: ["echo"])
        var now: Int64 = 1_000_000
        let id = TaskID.random()
        #expect(tasks.receive(id, submit: submit(deadlineMs: now + 600_000), from: caller, nowMs: now) == [.available("echo")])

        let (first, taken) = tasks.lease("ECHO", for: .seconds(10), nowMs: now)
        #expect(first?.state == .working && first?.deliveries == 1 && first?.leaseExpiresMs == now + 10_000)
        #expect(Self.notified(taken) == ["working"])
        #expect(tasks.lease("echo", for: .seconds(10), nowMs: now).0 == nil, "one task, one lease")

        // Progress at 8 s renews the lease: at 12 s it still holds.
        now += 8_000
        let (progressed, told) = try tasks.progress(id, message: "halfway", nowMs: now)
        #expect(progressed.leaseExpiresMs == now + 10_000 && Self.notified(told) == ["working"])
        now += 4_000
        #expect(tasks.sweep(nowMs: now).isEmpty)
        // Silence past the lease: handed out again, first in line.
        now += 7_000
        let swept = tasks.sweep(nowMs: now)
        #expect(swept.contains(.available("echo")) && tasks.view(id)?.state == .submitted)
        // The worker whose lease ran out cannot report progress: nobody holds the task.
        #expect(throws: PlexusError.self) { _ = try tasks.progress(id, message: "still here", nowMs: now) }
        #expect(tasks.view(id)?.message != "still here")
        let (second, retaken) = tasks.lease("echo", for: .seconds(10), nowMs: now)
        #expect(second?.deliveries == 2)
        #expect(Self.notified(retaken).isEmpty, "the caller heard 'taken' once")

        // The lease runs out again; the worker that held it posts its result after all.
        now += 11_000
        _ = tasks.sweep(nowMs: now)
        #expect(tasks.view(id)?.state == .submitted)
        let (done, result) = try tasks.finish(id, with: TaskResultRequest(result: .string("ok")), nowMs: now)
        #expect(tasks.lease("echo", for: .seconds(10), nowMs: now).0 == nil, "a finished task is not handed out again")
        #expect(!tasks.isBusy)
        #expect(done.state == .completed && Self.notified(result) == ["completed"])
        #expect(try tasks.finish(id, with: TaskResultRequest(result: .string("ok")), nowMs: now).1.isEmpty, "the same result again is harmless")
        #expect(throws: PlexusError.self) { _ = try tasks.finish(id, with: TaskResultRequest(result: .string("other")), nowMs: now) }
    }

    @Test func replaysAreRefusedByIdAndNonceUntilTheDeadlineAndByTheDeadlineAfter() {
        var tasks = WorkerTasks(me: worker, skills: ["echo"])
        let now: Int64 = 1_000_000
        let nonce = TaskID.random().bytes
        let id = TaskID.random()
        let original = submit(deadlineMs: now + 5_000, nonce: nonce)
        #expect(tasks.receive(id, submit: original, from: caller, nowMs: now) == [.available("echo")])
        #expect(Self.notified(tasks.receive(id, submit: original, from: caller, nowMs: now)) == ["rejected:securityError"])
        #expect(Self.notified(tasks.receive(TaskID.random(), submit: original, from: caller, nowMs: now)) == ["rejected:securityError"])
        // Another caller's nonces are its own.
        #expect(tasks.receive(TaskID.random(), submit: original, from: AgentKey().id, nowMs: now) == [.available("echo")])
        // After the deadline the nonce is forgotten, and the deadline refuses the replay.
        _ = tasks.sweep(nowMs: now + 6_000)
        #expect(tasks.view(id)?.state == .failed && tasks.view(id)?.error?.code == "timeout")
        #expect(Self.notified(tasks.receive(TaskID.random(), submit: original, from: caller, nowMs: now + 6_000)) == ["rejected:timeout"])
    }

    @Test func capabilitiesAreOfferedBySkillsHandlersAndRecentPollsOnly() {
        var tasks = WorkerTasks(me: worker, skills: ["echo"])
        let now: Int64 = 1_000_000
        #expect(Self.notified(tasks.receive(TaskID.random(), submit: submit("translate", deadlineMs: now + 60_000), from: caller, nowMs: now)) == ["rejected:rejected"])
        #expect(tasks.servedCapabilities(nowMs: now).isEmpty)
        _ = tasks.lease("Translate", for: .seconds(30), nowMs: now)  // a worker polls
        #expect(tasks.offers("translate", nowMs: now + WorkerTasks.pollerMemoryMs - 1))
        #expect(tasks.servedCapabilities(nowMs: now + WorkerTasks.pollerMemoryMs - 1) == ["translate"])
        // No poll for a while: no longer offered, and no longer announced.
        #expect(!tasks.offers("translate", nowMs: now + WorkerTasks.pollerMemoryMs))
        #expect(tasks.servedCapabilities(nowMs: now + WorkerTasks.pollerMemoryMs).isEmpty)
        // A configured skill is announced as configured, not again as served.
        _ = tasks.lease("echo", for: .seconds(30), nowMs: now)
        #expect(tasks.servedCapabilities(nowMs: now).contains("echo") == false)

        tasks.registerHandler("Summarize")
        #expect(tasks.servedCapabilities(nowMs: now + 10 * WorkerTasks.pollerMemoryMs) == ["summarize"])
        let id = TaskID.random()
        let started = tasks.receive(id, submit: submit("summarize", deadlineMs: now + 60_000), from: caller, nowMs: now)
        guard case .run(let view)? = started.first else {
            Issue.record("the handler was not started: \(started)")
            return
        }
        #expect(view.state == .working)
        // A cancel stops the handler and tells the caller; only the caller may cancel.
        #expect(tasks.cancel(id, from: AgentKey().id, nowMs: now).isEmpty)
        let canceled = tasks.cancel(id, from: caller, nowMs: now)
        #expect(canceled.first == .stopHandler(id) && Self.notified(canceled) == ["canceled"])
    }

    @Test func theCallerTakesUpdatesOnlyFromItsWorkerAndTimesOutAtTheDeadline() throws {
        var tasks = CallerTasks(me: caller)
        let now: Int64 = 1_000_000
        let id = TaskID.random()
        _ = tasks.start(id, to: worker, capability: "echo", payload: .null, timeoutMs: 5_000, nowMs: now)
        let working = Plexus_TaskUpdate.with { $0.state = "working"; $0.message = "on it" }
        #expect(tasks.receive(id, update: working, from: AgentKey().id, nowMs: now).0 == .wrongSender)
        #expect(tasks.view(id)?.state == .submitted)
        #expect(tasks.receive(id, update: working, from: worker, nowMs: now) == (.applied, [.changed(id)]))
        #expect(tasks.load() == [worker: 1])

        #expect(tasks.sweep(nowMs: now + 4_999).isEmpty)
        #expect(tasks.sweep(nowMs: now + 5_000) == [.changed(id), .cancel(id, worker: worker, relay: nil)])
        #expect(tasks.view(id)?.error?.code == "timeout")
        let late = Plexus_TaskUpdate.with { $0.state = "completed"; $0.result = Data("1".utf8) }
        #expect(tasks.receive(id, update: late, from: worker, nowMs: now + 6_000).0 == .ignored, "an ended task stays ended")

        let other = TaskID.random()
        _ = tasks.start(other, to: worker, capability: "echo", payload: .null, timeoutMs: 5_000, nowMs: now)
        tasks.relayed(other, via: caller)
        let (canceled, actions) = try tasks.cancel(other, nowMs: now)
        #expect(canceled.state == .canceled && actions == [.changed(other), .cancel(other, worker: worker, relay: caller)])
    }

    /// Beyond the bound, the tasks that ended longest ago are forgotten, not the oldest sent:
    /// a long task that has just ended is kept for whoever waits to read its outcome.
    @Test func theTasksForgottenBeyondTheBoundAreThoseThatEndedLongestAgo() {
        var tasks = CallerTasks(me: caller, remember: 8)  // forgets in batches once past 9
        var now: Int64 = 1_000_000
        let done = Plexus_TaskUpdate.with { $0.state = "completed"; $0.result = Data("1".utf8) }
        let long = TaskID.random()
        _ = tasks.start(long, to: worker, capability: "echo", payload: .null, timeoutMs: 600_000, nowMs: now)
        var short: [TaskID] = []
        for _ in 0..<8 {
            now += 1
            let id = TaskID.random()
            _ = tasks.start(id, to: worker, capability: "echo", payload: .null, timeoutMs: 600_000, nowMs: now)
            #expect(tasks.receive(id, update: done, from: worker, nowMs: now).0 == .applied)
            short.append(id)
        }
        now += 1
        #expect(tasks.receive(long, update: done, from: worker, nowMs: now).0 == .applied)  // sent first, ended last
        #expect(!tasks.hasLiveTasks, "every task sent has ended: nothing for the sweeps to time")
        now += 1
        let tenth = TaskID.random()
        _ = tasks.start(tenth, to: worker, capability: "echo", payload: .null, timeoutMs: 600_000, nowMs: now)  // past 9
        #expect(tasks.view(long)?.state == .completed, "ended last: kept")
        #expect(tasks.view(short[0]) == nil && tasks.view(short[1]) == nil, "ended first: forgotten")
        #expect(tasks.view(short[2])?.state == .completed)
        #expect(tasks.newest(20).map(\.id) == [tenth] + short[2...].reversed() + [long], "the rest kept in the order sent")
    }

    /// Nonces are held until their deadlines, so both are bounded: a deadline at most an
    /// hour and five minutes ahead, and at most `maxSeenNonces` held (new tasks wait for
    /// some to expire; none is forgotten early).
    @Test func heldNoncesAreBoundedByDeadlineAndByCount() {
        let now: Int64 = 1_000_000
        var tasks = WorkerTasks(me: worker, skills: ["echo"], maxSeenNonces: 2)
        let far = now + WorkerTasks.maxDeadlineAheadMs
        #expect(Self.notified(tasks.receive(TaskID.random(), submit: submit(deadlineMs: far + 1), from: caller, nowMs: now)) == ["rejected:contractViolation"])
        #expect(tasks.receive(TaskID.random(), submit: submit(deadlineMs: far), from: caller, nowMs: now) == [.available("echo")])

        let replayed = submit(deadlineMs: now + 5_000)
        #expect(tasks.receive(TaskID.random(), submit: replayed, from: caller, nowMs: now) == [.available("echo")])
        // Two nonces held: the next task waits for one to expire.
        #expect(Self.notified(tasks.receive(TaskID.random(), submit: submit(deadlineMs: now + 5_000), from: caller, nowMs: now)) == ["rejected:resourceExhausted"])
        #expect(Self.notified(tasks.receive(TaskID.random(), submit: replayed, from: caller, nowMs: now + 1_000)) == ["rejected:securityError"])
        _ = tasks.sweep(nowMs: now + 5_000)  // the second task's deadline: its nonce goes
        #expect(tasks.receive(TaskID.random(), submit: submit(deadlineMs: now + 10_000), from: caller, nowMs: now + 5_000) == [.available("echo")])
    }
}
