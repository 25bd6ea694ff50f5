import Foundation
import PlexusCore
import Synchronization

/// Handshake payload signatures that have verified: (agent key, Noise static key,
/// signature). The same three byte strings verify the same way every time, so a peer that
/// reconnects with the keys it had need not cost another Ed25519 verification. Bounded:
/// when full, it starts over.
public final class IdentityBindingCache: Sendable {
    public struct Binding: Hashable, Sendable {
        let agent: AgentID
        let noiseStatic: Data
        let signature: Data
    }

    private let entries = Mutex(Set<Binding>())
    private let capacity: Int

    public init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    func contains(_ binding: Binding) -> Bool {
        entries.withLock { $0.contains(binding) }
    }

    func insert(_ binding: Binding) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries.insert(binding)
        }
    }
}
