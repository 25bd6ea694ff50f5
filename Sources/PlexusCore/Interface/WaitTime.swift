/// How long a read may wait (long-poll) for something to happen: the feed, a task, the next
/// task for a worker. One limit for every interface, declared here only.
public enum WaitTime {
    /// The longest wait, in milliseconds.
    public static let maxMs = 60_000
    public static var max: Duration { .milliseconds(maxMs) }

    /// A `wait_ms` argument as a duration (absent: no wait), or `invalidArgument`.
    public static func duration(ms: Int?, name: String = "wait_ms") throws(PlexusError) -> Duration {
        let ms = ms ?? 0
        guard (0...maxMs).contains(ms) else {
            throw PlexusError(.invalidArgument, "\(name) must be between 0 and \(maxMs)")
        }
        return .milliseconds(ms)
    }

    /// Checks a wait given as a duration.
    public static func check(_ wait: Duration) throws(PlexusError) {
        guard wait >= .zero, wait <= max else {
            throw PlexusError(.invalidArgument, "a read waits at most \(maxMs) ms")
        }
    }
}
