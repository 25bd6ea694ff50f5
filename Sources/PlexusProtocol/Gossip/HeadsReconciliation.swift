import Crypto
import Foundation
import PlexusCore

/// Range-based set reconciliation of feed heads (anti-entropy, DESIGN §6): two nodes find
/// which authors one holds further than the other, with messages that stay small however
/// many authors they hold. Each side describes ranges of the author space by a fingerprint
/// (XOR of a hash of every `(author, head seq)` in it) and a count; equal ranges are done,
/// differing ones are split or, when small, sent as explicit heads. Sans-IO: the caller
/// carries `[Range]` messages between the two sides until one side has nothing to send.
public enum HeadsReconciliation {
    /// What one node offers of an author's feed within one topic (PROTOCOL.md §8): the
    /// highest seq it holds, how many entries it holds, and the lowest seq it holds (its
    /// low-water mark: below it, it offers nothing). Entries a node dropped (expired,
    /// deleted) are not offered, so a node that dropped them and one that never had them
    /// describe the same holdings, and their summaries converge.
    public struct Head: Sendable, Hashable, Comparable {
        public let author: AgentID
        public let seq: UInt64
        public let count: UInt64
        public let from: UInt64

        /// `count` defaults to a feed held without gaps from `from` (default 1) to `seq`.
        public init(author: AgentID, seq: UInt64, count: UInt64? = nil, from: UInt64 = 1) {
            self.author = author
            self.seq = seq
            self.from = max(from, 1)
            self.count = count ?? (seq >= self.from ? seq - self.from + 1 : 0)
        }

        public static func < (lhs: Head, rhs: Head) -> Bool { lhs.author < rhs.author }
    }

    /// 16 bytes: the XOR of the items' hashes.
    public struct Fingerprint: Sendable, Hashable {
        public var high: UInt64 = 0
        public var low: UInt64 = 0

        public init() {}

        /// The fingerprint of `heads` (order does not matter: XOR).
        public static func of(_ heads: some Sequence<Head>) -> Fingerprint {
            var result = Fingerprint()
            for head in heads { result.add(head) }
            return result
        }

        mutating func add(_ head: Head) {
            var bytes = head.author.bytes
            withUnsafeBytes(of: head.seq.bigEndian) { bytes.append(contentsOf: $0) }
            withUnsafeBytes(of: head.count.bigEndian) { bytes.append(contentsOf: $0) }
            // A feed offered from seq 1 hashes as before the mark existed.
            if head.from > 1 { withUnsafeBytes(of: head.from.bigEndian) { bytes.append(contentsOf: $0) } }
            let digest = Array(SHA256.hash(data: bytes))
            high ^= digest[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
            low ^= digest[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
        }
    }

    /// A range of the author space, `lower` inclusive, `upper` exclusive (nil: no bound).
    public enum Range: Sendable, Equatable {
        case fingerprint(lower: AgentID?, upper: AgentID?, fingerprint: Fingerprint, count: Int)
        /// Explicit heads; `reply` asks the receiver to answer with its own for the range.
        case heads(lower: AgentID?, upper: AgentID?, heads: [Head], reply: Bool)
    }

    public struct Config: Sendable {
        /// Ranges with at most this many heads are sent explicitly.
        public var explicitThreshold = 16
        /// A differing range is split into this many parts.
        public var branching = 8

        public init() {}
    }

    /// The opening message: one fingerprint over everything `local` holds (sorted by author).
    public static func start(local: [Head]) -> [Range] {
        [.fingerprint(lower: nil, upper: nil, fingerprint: .of(local), count: local.count)]
    }

    /// Whether `message` opens a round: one fingerprint over the whole key space, which is
    /// what `start` sends and no later step of a round does.
    public static func opensRound(_ message: [Range]) -> Bool {
        guard message.count == 1, case .fingerprint(nil, nil, _, _) = message[0] else { return false }
        return true
    }

    /// Answers a message: returns the ranges to send back (empty when done) and the heads
    /// the peer revealed.
    public static func respond(to message: [Range], local: [Head], config: Config = Config()) -> (reply: [Range], learned: [Head]) {
        var reply: [Range] = []
        var learned: [Head] = []
        for range in message {
            switch range {
            case .fingerprint(let lower, let upper, let theirs, let count):
                let mine = slice(local, lower: lower, upper: upper)
                if Fingerprint.of(mine) == theirs && mine.count == count { continue }
                if mine.count <= config.explicitThreshold {
                    reply.append(.heads(lower: lower, upper: upper, heads: Array(mine), reply: true))
                } else {
                    reply += split(mine, lower: lower, upper: upper, parts: config.branching)
                }
            case .heads(let lower, let upper, let theirs, let wantsReply):
                learned += theirs
                if wantsReply {
                    let mine = slice(local, lower: lower, upper: upper)
                    if Array(mine) != theirs {
                        // Many heads go back as fingerprinted parts, so no message grows large.
                        reply += mine.count <= config.explicitThreshold
                            ? [.heads(lower: lower, upper: upper, heads: Array(mine), reply: false)]
                            : split(mine, lower: lower, upper: upper, parts: config.branching)
                    }
                }
            }
        }
        return (reply, learned)
    }

    /// Cuts a reply into messages of at most `maxRanges` ranges and `maxHeads` explicit
    /// heads. Ranges are independent of each other, so each page can be sent, answered and
    /// forgotten on its own: this is what keeps every reconciliation message small.
    public static func pages(_ ranges: [Range], maxRanges: Int = 64, maxHeads: Int = 512) -> [[Range]] {
        var pages: [[Range]] = []
        var page: [Range] = []
        var heads = 0
        for range in ranges {
            let count = if case .heads(_, _, let list, _) = range { list.count } else { 0 }
            if !page.isEmpty && (page.count >= maxRanges || heads + count > maxHeads) {
                pages.append(page)
                page = []
                heads = 0
            }
            page.append(range)
            heads += count
        }
        if !page.isEmpty { pages.append(page) }
        return pages
    }

    static func slice(_ heads: [Head], lower: AgentID?, upper: AgentID?) -> ArraySlice<Head> {
        let start = lower.map { bound in heads.partitioningIndex { !($0.author < bound) } } ?? heads.startIndex
        let end = upper.map { bound in heads.partitioningIndex { !($0.author < bound) } } ?? heads.endIndex
        return heads[start..<max(start, end)]
    }

    /// Splits `heads` (all within [lower, upper)) into parts of about equal size, described
    /// by fingerprint; the boundaries are authors we hold, so both sides cut alike.
    static func split(_ heads: ArraySlice<Head>, lower: AgentID?, upper: AgentID?, parts: Int) -> [Range] {
        let size = (heads.count + parts - 1) / parts
        var ranges: [Range] = []
        var start = heads.startIndex
        var rangeLower = lower
        while start < heads.endIndex {
            let end = min(start + size, heads.endIndex)
            let rangeUpper = end < heads.endIndex ? heads[end].author : upper
            let part = heads[start..<end]
            ranges.append(.fingerprint(lower: rangeLower, upper: rangeUpper, fingerprint: .of(part), count: part.count))
            rangeLower = rangeUpper
            start = end
        }
        return ranges
    }
}

extension Array {
    /// The first index whose element satisfies `belongs` (which must be false, then true).
    func partitioningIndex(where belongs: (Element) -> Bool) -> Int {
        var low = startIndex
        var high = endIndex
        while low < high {
            let mid = (low + high) / 2
            if belongs(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
