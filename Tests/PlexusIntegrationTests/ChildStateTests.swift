import Foundation
import Testing

/// The test harness reads a child's exit status from the process table when Foundation's
/// notice is late; these children are spawned without Foundation, so nothing reaps them
/// until the test does.
@Suite struct ChildStateTests {
    /// Spawns `/bin/sh -c script` with posix_spawn and returns its pid.
    static func spawn(_ script: String) throws -> pid_t {
        var pid: pid_t = 0
        let arguments = ["/bin/sh", "-c", script]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let result = posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ)
        guard result == 0 else { throw TestFailure("posix_spawn failed: \(result)") }
        return pid
    }

    /// Polls until the child leaves `.running` (at most 10 s).
    static func settled(_ pid: pid_t) async throws -> ChildState {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let state = ChildState(pid: pid)
            if state != .running { return state }
            try await Task.sleep(for: .milliseconds(10))
        }
        return ChildState(pid: pid)
    }

    @Test func anExitCodeOrASignalIsReadFromTheZombieAndAReapedChildIsGone() async throws {
        let exits = try Self.spawn("exit 3")
        #expect(try await Self.settled(exits) == .exited(status: 3))
        var status: Int32 = 0
        #expect(waitpid(exits, &status, 0) == exits)
        #expect(ChildState(pid: exits) == .gone)

        let sleeps = try Self.spawn("sleep 30")
        #expect(ChildState(pid: sleeps) == .running)
        kill(sleeps, SIGKILL)
        #expect(try await Self.settled(sleeps) == .exited(status: SIGKILL))
        #expect(waitpid(sleeps, &status, 0) == sleeps)
    }
}
