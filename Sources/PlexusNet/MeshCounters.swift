import Synchronization

/// Counters of what the mesh transport did, for status and metrics. Safe to bump from
/// any event loop.
public final class MeshCounters: Sendable {
    /// A snapshot of the counters.
    public struct Snapshot: Sendable, Equatable, Codable {
        public var handshakesCompleted = 0
        public var connectionsAccepted = 0
        public var connectionsDialed = 0
        /// Connections refused or closed, by reason (`MeshError.reason` or a handshake failure).
        public var closed: [String: Int] = [:]
        public var framesIn = 0
        public var framesOut = 0

        enum CodingKeys: String, CodingKey {
            case handshakesCompleted = "handshakes_completed", connectionsAccepted = "connections_accepted"
            case connectionsDialed = "connections_dialed", closed, framesIn = "frames_in", framesOut = "frames_out"
        }
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    func update(_ body: (inout Snapshot) -> Void) { state.withLock { body(&$0) } }

    func closed(_ reason: String) { state.withLock { $0.closed[reason, default: 0] += 1 } }
}
