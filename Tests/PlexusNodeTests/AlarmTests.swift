import Testing
@testable import PlexusNode

/// The quiet pause of the gossip tick and the task sweeps: a ring ends it.
@Suite struct AlarmTests {
    @Test func aRingEndsThePauseWhetherItCameBeforeOrDuringIt() async {
        let alarm = Alarm()
        let started = ContinuousClock.now
        async let paused: Void = alarm.pause(for: .seconds(60))
        alarm.ring()
        await paused
        #expect(ContinuousClock.now - started < .seconds(30))
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
        await alarm.pause(for: .seconds(60))
        #expect(ContinuousClock.now - started < .seconds(30))
        let second = ContinuousClock.now
        await alarm.pause(for: .milliseconds(50))
        #expect(ContinuousClock.now - second >= .milliseconds(50))
    }

    @Test func cancellingThePausingTaskEndsThePause() async {
        let alarm = Alarm()
        let started = ContinuousClock.now
        let pausing = Task { await alarm.pause(for: .seconds(60)) }
        pausing.cancel()
        await pausing.value
        #expect(ContinuousClock.now - started < .seconds(30))
    }
}
