import Foundation
import PlexusCore

/// Proof that an author signed two entries that cannot both be in one feed: either two
/// different entries at one seq, or an entry whose `prev` is not the entry held at seq-1.
/// Both entries are kept with their signatures so anyone can check the proof.
public struct ForkProof: Sendable, Equatable {
    public let author: AgentID
    /// The seq at which the author's history diverges.
    public let seq: UInt64
    /// The entry this node held.
    public let held: SignedEntry
    /// The entry that contradicts it.
    public let conflicting: SignedEntry
    /// When this node detected it (local clock).
    public let detectedMs: Int64
}
