import Synchronization

/// The pause of a periodic loop that runs often while it has timers to serve and seldom
/// while it has none: the quiet pause ends early when work arrives (`ring`), so the new
/// work's timers are served at the busy pace at once. An idle node then wakes a few times
/// a second instead of forty.
final class Alarm: Sendable {
    private struct State {
        var sleeper: Task<Void, Never>?
        /// Rung while no pause was under way: the next pause does not sleep.
        var rung = false
    }

    private let state = Mutex(State())

    /// Sleeps for `duration`, or until `ring()` or the caller's cancellation. Returns at
    /// once when the alarm rang since the last pause.
    func pause(for duration: Duration) async {
        let sleeper = Task<Void, Never> { _ = try? await Task.sleep(for: duration) }
        let rung = state.withLock { state in
            defer { state.rung = false }
            if !state.rung { state.sleeper = sleeper }
            return state.rung
        }
        if rung { sleeper.cancel() }
        await withTaskCancellationHandler { await sleeper.value } onCancel: { sleeper.cancel() }
        state.withLock { state in
            if state.sleeper == sleeper { state.sleeper = nil }
        }
    }

    /// Whether a pause is under way (for tests).
    var isPausing: Bool { state.withLock { $0.sleeper != nil } }

    /// Ends the pause under way, or the next one if none is.
    func ring() {
        let sleeper = state.withLock { state in
            guard let sleeper = state.sleeper else {
                state.rung = true
                return Task<Void, Never>?.none
            }
            state.sleeper = nil
            return sleeper
        }
        sleeper?.cancel()
    }
}
