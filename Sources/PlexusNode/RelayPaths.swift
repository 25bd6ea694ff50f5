import PlexusCore
import Synchronization

/// The relay each remote caller was last heard through (bounded: at most `limit` callers).
final class RelayPaths: Sendable {
    static let limit = 10_000
    private let paths = Mutex<[AgentID: AgentID]>([:])

    subscript(caller: AgentID) -> AgentID? {
        paths.withLock { $0[caller] }
    }

    func record(_ relay: AgentID, for caller: AgentID) {
        paths.withLock { paths in
            if paths.count >= Self.limit, paths[caller] == nil { paths.removeAll() }
            paths[caller] = relay
        }
    }
}
