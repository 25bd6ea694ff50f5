import PlexusCore
import Synchronization

/// Counters of what the mesh transport did, for status and metrics. Safe to bump from
/// any event loop.
public final class MeshCounters: Sendable {
    private let state = Mutex(MeshCounts())

    public init() {}

    public var snapshot: MeshCounts { state.withLock { $0 } }

    func update(_ body: (inout MeshCounts) -> Void) { state.withLock { body(&$0) } }

    func closed(_ reason: String) { state.withLock { $0.closed[reason, default: 0] += 1 } }
}
