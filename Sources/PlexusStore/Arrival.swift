/// How an entry came to this node, recorded with it: hooks and webhooks run for entries
/// that arrive live, not for history fetched when a node joins or resubscribes.
public enum Arrival: Int, Sendable, Codable {
    /// Signed here (the node's own publish).
    case published = 0
    /// Handed in through the API (`POST /v1/entries`).
    case submitted = 1
    /// Pushed by gossip as it spread.
    case pushed = 2
    /// Fetched by anti-entropy: history, signed before this node joined the topic.
    case synced = 3
    /// Fetched by anti-entropy but signed after this node joined the topic: a push that
    /// was lost, so it counts as live.
    case repaired = 4

    /// Whether it arrived live rather than as history (what hooks run for by default).
    public var isLive: Bool { self != .synced }

    /// Whether the caller's answer waits for an fsync: entries handed in by a caller are
    /// durable when acknowledged; replicated ones are fetched again if a crash loses them.
    public var isDurable: Bool { self == .published || self == .submitted }
}
