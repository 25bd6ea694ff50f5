/// Callers suspended until something about a key changes, each with its own deadline: the
/// owner (an actor) wakes them on a change and, from a periodic sweep, when their time is up.
/// A sweep that slows down while it has nothing to time is told of each new waiter by its
/// alarm.
struct Waiters<Key: Hashable> {
    private struct Waiter {
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Void, Never>
    }

    private var entries: [Key: [Waiter]] = [:]
    private let sweeps: Alarm?

    init(sweeps: Alarm? = nil) {
        self.sweeps = sweeps
    }

    var isEmpty: Bool { entries.isEmpty }

    mutating func add(_ key: Key, until deadline: ContinuousClock.Instant, _ continuation: CheckedContinuation<Void, Never>) {
        sweeps?.ring()
        entries[key, default: []].append(Waiter(deadline: deadline, continuation: continuation))
    }

    /// Wakes everyone waiting on `key`.
    mutating func wakeAll(_ key: Key) {
        guard let waiting = entries.removeValue(forKey: key) else { return }
        for waiter in waiting { waiter.continuation.resume() }
    }

    /// Wakes the longest-waiting one on `key`.
    mutating func wakeOne(_ key: Key) {
        guard var waiting = entries[key], !waiting.isEmpty else { return }
        let first = waiting.removeFirst()
        entries[key] = waiting.isEmpty ? nil : waiting
        first.continuation.resume()
    }

    /// Wakes those whose deadline has passed.
    mutating func wakeExpired(now: ContinuousClock.Instant) {
        for (key, waiting) in entries {
            let (expired, kept) = (waiting.filter { $0.deadline <= now }, waiting.filter { $0.deadline > now })
            guard !expired.isEmpty else { continue }
            entries[key] = kept.isEmpty ? nil : kept
            for waiter in expired { waiter.continuation.resume() }
        }
    }
}
