/// A token bucket: `capacity` at most, refilled at `perSecond`.
struct TokenBucket {
    let capacity: Double
    let perSecond: Double
    private var tokens: Double
    private var updated: ContinuousClock.Instant?

    init(capacity: Double, perSecond: Double) {
        self.capacity = capacity
        self.perSecond = perSecond
        tokens = capacity
    }

    /// Takes one token if there is one.
    mutating func take(at now: ContinuousClock.Instant) -> Bool {
        if let updated {
            let elapsed = now - updated
            tokens = min(capacity, tokens + (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) * perSecond)
        }
        updated = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
