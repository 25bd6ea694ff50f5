import PlexusCore
import Testing
@testable import PlexusProtocol

/// The anti-entropy rules (`FeedSync`) driven over a model of nodes whose entries expire,
/// are deleted or never arrived: rounds converge, and then go quiet.
@Suite struct FeedSyncTests {
    typealias Head = HeadsReconciliation.Head

    /// One node's feeds of one topic: held seqs, and seqs dropped (tombstoned) per author:
    /// deleted here by choice, or expired (which the rules do not count).
    struct Node {
        var held: [AgentID: Set<UInt64>] = [:]
        var deleted: [AgentID: Set<UInt64>] = [:]
        var expired: [AgentID: Set<UInt64>] = [:]
        /// Low-water marks: below one, the node keeps and wants nothing.
        var marks: [AgentID: UInt64] = [:]

        /// Collapses the author's deleted seqs below everything held into the mark.
        mutating func collapse(_ author: AgentID) {
            let floor = held[author]?.min() ?? UInt64.max
            let below = (deleted[author] ?? []).filter { $0 < floor }
            guard let top = below.max() else { return }
            deleted[author]?.subtract(below)
            marks[author] = max(marks[author] ?? 1, top + 1)
        }

        /// What the node offers (PROTOCOL.md §8), sorted by author.
        var heads: [Head] {
            held.filter { !$0.value.isEmpty }.map { author, seqs in
                Head(author: author, seq: seqs.max() ?? 0, count: UInt64(seqs.count), from: seqs.min() ?? 1)
            }.sorted()
        }

        func accounting(for learned: Head) -> FeedSync.Accounting {
            let accounted = (held[learned.author] ?? []).union(deleted[learned.author] ?? [])
            let mark = marks[learned.author] ?? 1
            let maxSeq = max(accounted.max() ?? 0, mark - 1)
            let range = FeedSync.measuredRange(of: learned, maxAccounted: maxSeq, retainedFrom: mark)
            return FeedSync.Accounting(
                maxSeq: maxSeq, countInRange: UInt64(range.map { r in accounted.filter { r.contains($0) }.count } ?? 0), retainedFrom: mark)
        }

        /// Stores a streamed entry unless tombstoned here or expired everywhere.
        mutating func receive(_ author: AgentID, _ seq: UInt64, expired: Set<UInt64>) -> Bool {
            if deleted[author]?.contains(seq) == true || self.expired[author]?.contains(seq) == true || expired.contains(seq)
                || seq < marks[author] ?? 1 { return false }
            return held[author, default: []].insert(seq).inserted
        }
    }

    /// One anti-entropy round from `a` to `b` and back; returns (wants, entries streamed).
    static func round(_ a: inout Node, _ b: inout Node, expired: [AgentID: Set<UInt64>]) -> (wants: Int, streamed: Int) {
        var messages: [(toB: Bool, ranges: [HeadsReconciliation.Range])] = [(true, HeadsReconciliation.start(local: a.heads))]
        var learnedByA: [Head] = []
        var learnedByB: [Head] = []
        var steps = 0
        while !messages.isEmpty, steps < 10_000 {
            steps += 1
            let (toB, ranges) = messages.removeFirst()
            let (reply, learned) = HeadsReconciliation.respond(to: ranges, local: toB ? b.heads : a.heads)
            if toB { learnedByB += learned } else { learnedByA += learned }
            for page in HeadsReconciliation.pages(reply) { messages.append((!toB, page)) }
        }
        var wants = 0
        var streamed = 0
        for (asker, learned) in [(false, learnedByA), (true, learnedByB)] {
            for head in learned {
                let askerNode = asker ? b : a
                guard let want = FeedSync.want(for: head, accounting: askerNode.accounting(for: head)) else { continue }
                wants += 1
                let holder = asker ? a : b
                let offered = (holder.held[want.author] ?? []).filter { $0 >= want.from && $0 <= want.seq }
                let after = FeedSync.streamAfter(want, offeredInRange: UInt64(offered.count))
                for seq in (holder.held[want.author] ?? []).filter({ $0 > after }).sorted() {
                    streamed += 1
                    if asker { _ = b.receive(want.author, seq, expired: expired[want.author] ?? []) } else {
                        _ = a.receive(want.author, seq, expired: expired[want.author] ?? [])
                    }
                }
            }
        }
        return (wants, streamed)
    }

    @Test func feedsWithExpiredDeletedAndMissingEntriesConvergeAndGoQuiet() {
        let authors = (0..<12).map { _ in AgentKey().id }
        var random = SystemRandomNumberGenerator()
        var expired: [AgentID: Set<UInt64>] = [:]
        var holder = Node()   // held everything; its expired entries are tombstoned
        var peer = Node()     // held everything too, and deleted some locally
        var late = Node()     // joined after the expiry: never saw the expired entries
        for author in authors {
            let seqs = Set<UInt64>(1...30)
            // A third of each feed expired, scattered through it.
            let gone = Set(seqs.shuffled(using: &random).prefix(10))
            expired[author] = gone
            holder.held[author] = seqs.subtracting(gone)
            holder.expired[author] = gone
            let deleted = Set(seqs.subtracting(gone).shuffled(using: &random).prefix(3))
            peer.held[author] = seqs.subtracting(gone).subtracting(deleted)
            peer.expired[author] = gone
            peer.deleted[author] = deleted
            // The late node got the newest few by broadcast.
            late.held[author] = Set(seqs.subtracting(gone).sorted().suffix(2))
        }
        let pairs = [(0, 1), (0, 2), (1, 2)]
        var nodes = [holder, peer, late]
        var quietRound: Int?
        for roundNumber in 1...10 {
            var traffic = 0
            for (i, j) in pairs {
                var a = nodes[i]
                var b = nodes[j]
                let result = Self.round(&a, &b, expired: expired)
                traffic += result.wants + result.streamed
                nodes[i] = a
                nodes[j] = b
            }
            if traffic == 0 {
                quietRound = roundNumber
                break
            }
        }
        #expect(quietRound != nil && quietRound! <= 3, "sync went quiet in round \(String(describing: quietRound))")
        for author in authors {
            let live = Set<UInt64>(1...30).subtracting(expired[author] ?? [])
            #expect(nodes[0].held[author] == live)
            #expect(nodes[2].held[author] == live, "the late node holds every live entry")
            // The peer's deletions stick: it never fetched them back.
            #expect(nodes[1].held[author]?.isDisjoint(with: nodes[1].deleted[author] ?? []) == true)
        }
    }

    /// A node that dropped the oldest entries of each feed and some scattered ones (as
    /// `max_count` and compaction do), then collapsed their tombstones into low-water marks,
    /// still goes quiet with a node holding everything, fetches none of them back, and still
    /// gets what is published after.
    @Test func feedsCollapsedIntoLowWaterMarksStayQuietAndGetNewEntries() {
        let authors = (0..<10).map { _ in AgentKey().id }
        var random = SystemRandomNumberGenerator()
        var full = Node()
        var trimmed = Node()
        for author in authors {
            full.held[author] = Set(1...40)
            let oldest = Set<UInt64>(1...UInt64.random(in: 5...30, using: &random))
            let scattered = Set(Set<UInt64>(1...40).subtracting(oldest).shuffled(using: &random).prefix(3))
            trimmed.deleted[author] = oldest.union(scattered)
            trimmed.held[author] = Set(1...40).subtracting(oldest).subtracting(scattered)
            trimmed.collapse(author)
            #expect(trimmed.marks[author] == trimmed.held[author]?.min(), "the mark is the lowest seq still held")
            #expect(trimmed.deleted[author] == scattered.filter { $0 > trimmed.marks[author] ?? 0 })
        }
        let kept = trimmed.held
        for _ in 1...3 {
            let result = Self.round(&full, &trimmed, expired: [:])
            #expect(result.wants == 0 && result.streamed == 0, "a collapsed feed is not fetched again: \(result)")
        }
        #expect(trimmed.held == kept)
        for author in authors { full.held[author]?.insert(41) }
        let after = Self.round(&full, &trimmed, expired: [:])
        #expect(after.streamed == authors.count, "only the new entry of each feed comes")
        for author in authors { #expect(trimmed.held[author] == kept[author]?.union([41])) }
    }

    @Test func aWantIsSentOnlyForSomethingUnaccountedFor() {
        let author = AgentKey().id
        // The holder offers 6...10; we hold 6...10 (1...5 expired before we joined).
        #expect(FeedSync.want(for: Head(author: author, seq: 10, count: 5, from: 6), accounting: .init(maxSeq: 10, countInRange: 5)) == nil)
        // It offers a newer entry: ask from our top.
        let newer = FeedSync.want(for: Head(author: author, seq: 11, count: 6, from: 6), accounting: .init(maxSeq: 10, countInRange: 5))
        #expect(newer == FeedSync.Want(author: author, from: 6, seq: 10, count: 5))
        #expect(newer.map { FeedSync.streamAfter($0, offeredInRange: 5) } == 10)
        // It offers one we lack below our top: it streams from its mark.
        let gap = FeedSync.want(for: Head(author: author, seq: 10, count: 5, from: 6), accounting: .init(maxSeq: 10, countInRange: 4))
        #expect(gap.map { FeedSync.streamAfter($0, offeredInRange: 5) } == 5)
        // We deleted one of them here: accounted for, not asked for again.
        #expect(FeedSync.want(for: Head(author: author, seq: 10, count: 5, from: 6), accounting: .init(maxSeq: 10, countInRange: 5)) == nil)
    }

    /// The holder offers {1, 3, 4} (2 expired before it got it); we hold {1, 4}, lack 3
    /// (a lost push), and 2 expired here. Expired seqs are not accounted for, so the count
    /// shows the gap and 3 is fetched.
    @Test func anExpiredEntryDoesNotHideAMissingOneBesideIt() {
        let author = AgentKey().id
        var asker = Node()
        asker.held[author] = [1, 4]
        asker.expired[author] = [2]
        let offered = Head(author: author, seq: 4, count: 3, from: 1)
        let want = FeedSync.want(for: offered, accounting: asker.accounting(for: offered))
        #expect(want == FeedSync.Want(author: author, from: 1, seq: 4, count: 2))
        #expect(want.map { FeedSync.streamAfter($0, offeredInRange: 3) } == 0, "streamed from the start: 3 comes")
    }
}
