import PlexusCore

/// The rules anti-entropy follows once two nodes know each other's heads (PROTOCOL.md §8):
/// which feeds to ask for, and where the holder starts streaming. Pure, so they are
/// unit-tested and simulated without sockets.
///
/// A node *accounts for* a seq when it holds that entry or dropped it by choice (deleted
/// it; it never wants it again). Expired entries are not counted: no honest node offers
/// them, so counting them would let one hide an entry missing beside it. It asks for a feed only when the
/// holder offers something it does not account for, and the holder streams so that every
/// such entry is sent. Each want therefore brings the asker at least one entry it stores
/// or refuses for good, and once nothing is missing no want is sent: summaries converge
/// even when entries expired or were deleted on some nodes and never reached others.
public enum FeedSync {
    /// What the asking node accounts for of one author's feed, measured against a head it
    /// learned: its low-water mark (below it, it keeps and wants nothing), its highest
    /// accounted seq (at least `retainedFrom - 1`), and how many seqs it accounts for in
    /// `max(learned.from, retainedFrom) ... min(maxSeq, learned.seq)`.
    public struct Accounting: Sendable, Equatable {
        public var maxSeq: UInt64
        public var countInRange: UInt64
        public var retainedFrom: UInt64

        public init(maxSeq: UInt64, countInRange: UInt64, retainedFrom: UInt64 = 1) {
            self.maxSeq = maxSeq
            self.countInRange = countInRange
            self.retainedFrom = max(retainedFrom, 1)
        }

        /// Nothing held or tombstoned.
        public static let none = Accounting(maxSeq: 0, countInRange: 0)
    }

    /// A request to stream one author's feed: the asker accounts for `count` seqs in
    /// `from ... seq`.
    public struct Want: Sendable, Equatable {
        public let author: AgentID
        public let from: UInt64
        public let seq: UInt64
        public let count: UInt64

        public init(author: AgentID, from: UInt64, seq: UInt64, count: UInt64) {
            self.author = author
            self.from = max(from, 1)
            self.seq = seq
            self.count = count
        }
    }

    /// The range of seqs the asker must measure its accounting over for `learned`: from
    /// the higher of both low-water marks up to the lower of both tops.
    public static func measuredRange(
        of learned: HeadsReconciliation.Head, maxAccounted: UInt64, retainedFrom: UInt64 = 1
    ) -> ClosedRange<UInt64>? {
        let lower = max(learned.from, retainedFrom, 1)
        let upper = min(learned.seq, maxAccounted)
        return lower <= upper ? lower...upper : nil
    }

    /// The want to send for a learned head, or nil when the holder offers nothing this
    /// node does not account for: it holds entries beyond our top, or more entries in the
    /// range both cover.
    public static func want(for learned: HeadsReconciliation.Head, accounting: Accounting) -> Want? {
        let seq = min(learned.seq, accounting.maxSeq)
        // Below both tops the holder offers `learned.count` seqs of the range and we account
        // for `countInRange`: more offered means one we lack. Below our low-water mark we
        // want nothing, and the holder may offer up to one entry per seq there.
        let belowMark = accounting.retainedFrom > learned.from ? accounting.retainedFrom - learned.from : 0
        guard learned.seq > accounting.maxSeq || learned.count > accounting.countInRange + belowMark else { return nil }
        return Want(author: learned.author, from: max(learned.from, accounting.retainedFrom), seq: seq, count: accounting.countInRange)
    }

    /// Where the holder starts streaming a want: after `want.seq` when it offers no more
    /// entries in `want.from ... want.seq` than the asker accounts for there (the asker
    /// lacks only what is newer), else from `want.from` (the asker lacks some below its
    /// top; it drops what it already holds). Returns the seq streaming continues after.
    public static func streamAfter(_ want: Want, offeredInRange: UInt64) -> UInt64 {
        offeredInRange <= want.count ? want.seq : want.from - 1
    }
}
