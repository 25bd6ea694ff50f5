import PlexusCore
import Testing
@testable import PlexusProtocol

/// Range-based reconciliation of feed heads between two nodes.
@Suite struct HeadsReconciliationTests {
    typealias Head = HeadsReconciliation.Head

    static func authors(_ count: Int) -> [AgentID] {
        (0..<count).map { _ in AgentKey().id }.sorted()
    }

    /// Runs the exchange to the end, page by page as a node would send it; returns what
    /// each side learned, the number of messages and the largest one.
    static func reconcile(_ a: [Head], _ b: [Head]) -> (aLearned: [Head], bLearned: [Head], rounds: Int, maxHeads: Int, maxRanges: Int) {
        // Pending messages: (to b?, ranges).
        var inFlight: [(toB: Bool, ranges: [Range])] = [(true, HeadsReconciliation.start(local: a))]
        var learned: ([Head], [Head]) = ([], [])
        var rounds = 0
        var maxHeads = 0
        var maxRanges = 1
        while !inFlight.isEmpty && rounds < 100_000 {
            let (toB, message) = inFlight.removeFirst()
            rounds += 1
            maxRanges = max(maxRanges, message.count)
            maxHeads = max(maxHeads, message.reduce(0) { total, range in
                if case .heads(_, _, let heads, _) = range { return total + heads.count }
                return total
            })
            let (reply, got) = HeadsReconciliation.respond(to: message, local: toB ? b : a)
            if toB { learned.1 += got } else { learned.0 += got }
            for page in HeadsReconciliation.pages(reply) { inFlight.append((!toB, page)) }
        }
        return (learned.0, learned.1, rounds, maxHeads, maxRanges)
    }

    typealias Range = HeadsReconciliation.Range

    /// The wants a node whose feeds are `local` (held without tombstones) sends for what it
    /// learned.
    static func wants(local: [Head], learned: [Head]) -> [FeedSync.Want] {
        var mine: [AgentID: Head] = [:]
        for head in local { mine[head.author] = head }
        return learned.compactMap { head in
            let have = mine[head.author]
            let maxSeq = have?.seq ?? 0
            let upper = min(head.seq, maxSeq)
            let lower = max(head.from, have?.from ?? 1)
            let count = have.map { upper >= lower ? min($0.count, upper - lower + 1) : 0 } ?? 0
            return FeedSync.want(for: head, accounting: FeedSync.Accounting(maxSeq: maxSeq, countInRange: count))
        }
    }

    @Test func identicalSetsFinishInOneRoundTrip() {
        let heads = Self.authors(10_000).map { Head(author: $0, seq: 5) }
        let result = Self.reconcile(heads, heads)
        #expect(result.rounds == 1)
        #expect(result.aLearned.isEmpty && result.bLearned.isEmpty)
    }

    @Test func aFewDifferencesAmongTenThousandAuthorsAreFoundWithSmallMessages() {
        let authors = Self.authors(10_000)
        let a = authors.map { Head(author: $0, seq: 10) }
        var b = a
        let changed = [17, 4_000, 9_999]
        for index in changed { b[index] = Head(author: authors[index], seq: 12) }
        let result = Self.reconcile(a, b)
        let wants = Self.wants(local: a, learned: result.aLearned)
        #expect(Set(wants.map(\.author)) == Set(changed.map { authors[$0] }))
        #expect(wants.allSatisfy { $0.seq == 10 && $0.count == 10 })  // our own head, which the want carries
        #expect(Self.wants(local: b, learned: result.bLearned).isEmpty)
        #expect(result.maxRanges <= 64)
        #expect(result.maxHeads <= 3 * 16)
    }

    @Test func aNewNodeLearnsEveryAuthorWithoutAnyLargeMessage() {
        let full = Self.authors(10_000).map { Head(author: $0, seq: 3) }
        let result = Self.reconcile([], full)
        #expect(Set(result.aLearned) == Set(full))
        #expect(Self.wants(local: [], learned: result.aLearned).count == 10_000)
        // Every message is a bounded page, however many authors there are.
        #expect(result.maxHeads <= 512)
        #expect(result.maxRanges <= 64)
    }

    @Test func authorsOnlyOneSideHasAreFoundBothWays() {
        let authors = Self.authors(2_000)
        let a = authors.enumerated().filter { $0.offset % 3 != 0 }.map { Head(author: $0.element, seq: 1) }
        let b = authors.enumerated().filter { $0.offset % 5 != 0 }.map { Head(author: $0.element, seq: 1) }
        let result = Self.reconcile(a, b)
        let aWants = Set(Self.wants(local: a, learned: result.aLearned).map(\.author))
        let bWants = Set(Self.wants(local: b, learned: result.bLearned).map(\.author))
        #expect(aWants == Set(b.map(\.author)).subtracting(a.map(\.author)))
        #expect(bWants == Set(a.map(\.author)).subtracting(b.map(\.author)))
    }

    @Test func aGapBelowTheSameTopSeqIsFoundByTheCount() {
        let authors = Self.authors(100)
        let a = authors.map { Head(author: $0, seq: 10) }
        var b = a
        b[42] = Head(author: authors[42], seq: 10, count: 9)  // b missed one entry below 10
        let result = Self.reconcile(a, b)
        let wants = Self.wants(local: b, learned: result.bLearned)
        #expect(wants == [FeedSync.Want(author: authors[42], from: 1, seq: 10, count: 9)])
        #expect(Self.wants(local: a, learned: result.aLearned).isEmpty)
    }
}
