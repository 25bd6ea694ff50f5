import Testing
@testable import PlexusNode

/// The quiet pause of the gossip tick and the task sweeps: a ring ends it. Pauses that a
/// ring must end are an hour long and are checked against half of that, so a test process
/// stalled for a while (a cold page cache, a busy machine) does not fail them; a ring that
/// does not end its pause fails at the time limit.
@Suite(.timeLimit(.minutes(2))) struct AlarmTests {
    @Test func aRingEndsThePauseWhetherItCameBeforeOrDuringIt() async {
        let alarm = Alarm()
        let started = ContinuousClock.now
        async let paused: Void = alarm.pause(for: .seconds(3_600))
        alarm.ring()
        await paused
        #expect(ContinuousClock.now - started < .seconds(1_800))
    }

    @Test func aRingWhilePausingEndsThePause() async throws {
        let alarm = Alarm()
        let started = ContinuousClock.now
        async let paused: Void = alarm.pause(for: .seconds(3_600))
        while !alarm.isPausing { try await Task.sleep(for: .milliseconds(1)) }
        alarm.ring()
        await paused
        #expect(ContinuousClock.now - started < .seconds(1_800))
    }

    @Test func aPauseNobodyRingsLastsItsDuration() async {
        let alarm = Alarm()
        let started = ContinuousClock.now
        await alarm.pause(for: .milliseconds(50))
        #expect(ContinuousClock.now - started >= .milliseconds(50))
    }

    @Test func oneRingEndsOnePause() async {
        let alarm = Alarm()
        alarm.ring()
        let started = ContinuousClock.now
        await alarm.pause(for: .seconds(3_600))
        #expect(ContinuousClock.now - started < .seconds(1_800))
        let second = ContinuousClock.now
        await alarm.pause(for: .milliseconds(50))
        #expect(ContinuousClock.now - second >= .milliseconds(50))
    }

    @Test func cancellingThePausingTaskEndsThePause() async {
        let alarm = Alarm()
        let started = ContinuousClock.now
        let pausing = Task { await alarm.pause(for: .seconds(3_600)) }
        pausing.cancel()
        await pausing.value
        #expect(ContinuousClock.now - started < .seconds(1_800))
    }
}
