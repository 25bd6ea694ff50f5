import PlexusProtocol
import Testing

/// The sans-IO Kademlia pieces: key arithmetic, the routing table's buckets and
/// replacements, and the iterative lookup's rules.
@Suite struct DHTTests {
    static func key(_ last: UInt64, first: UInt64 = 0) -> DHTKey { DHTKey(words: (first, 0, 0, last)) }

    @Test func keysRoundTripAndCompareByXorDistance() throws {
        var random = GossipRandom(seed: 3)
        let a = DHTKey(random: &random)
        #expect(DHTKey(bytes: a.bytes) == a)
        #expect(DHTKey(bytes: [1, 2, 3]) == nil)
        #expect(a.distance(to: a).leadingZeroBits == 256)
        #expect(Self.key(1).distance(to: Self.key(3)) == Self.key(2))
        #expect(Self.key(0, first: 1 << 63).leadingZeroBits == 0)
        #expect(Self.key(1).leadingZeroBits == 255)
        #expect(Self.key(5) < Self.key(0, first: 1))
        let hashed = DHTKey(hashing: [1, 2], domain: "x:")
        #expect(hashed == DHTKey(hashing: [1, 2], domain: "x:"))
        #expect(hashed != DHTKey(hashing: [1, 2], domain: "y:"))
    }

    @Test func aFullBucketKeepsItsContactsAndRefillsFromReplacements() {
        // Every key below shares no prefix bit with `me` (top bit differs): one bucket.
        var table = RoutingTable<Int>(me: Self.key(0), k: 3)
        let far = (1...5).map { RoutingTable<Int>.Contact(key: Self.key(UInt64($0), first: 1 << 63), peer: $0) }
        for contact in far { table.observe(contact) }
        #expect(table.count == 3)
        #expect(Set(table.contacts.map(\.peer)) == [1, 2, 3])
        table.remove(far[0])
        #expect(Set(table.contacts.map(\.peer)) == [2, 3, 5])  // the newest replacement
        table.observe(RoutingTable<Int>.Contact(key: Self.key(0), peer: 99))  // itself: ignored
        #expect(table.count == 3)
    }

    @Test func closestIsSortedByDistance() {
        var table = RoutingTable<Int>(me: Self.key(0), k: 20)
        for value in [9, 3, 12, 6, 1] { table.observe(.init(key: Self.key(UInt64(value)), peer: value)) }
        #expect(table.closest(to: Self.key(2), count: 3).map(\.peer) == [3, 1, 6])
    }

    @Test func aLookupKeepsAlphaInFlightIgnoresFloodsAndMovesPastFailures() {
        let contacts = (1...30).map { RoutingTable<Int>.Contact(key: Self.key(UInt64($0)), peer: $0) }
        var lookup = DHTLookup<Int>(target: Self.key(0), seeds: Array(contacts.prefix(5)), k: 4, alpha: 2, wantsValue: false)
        let first = lookup.nextQueries()
        #expect(first.map(\.peer) == [1, 2])
        #expect(lookup.nextQueries().isEmpty)  // two in flight already
        lookup.failed(first[0])
        // An answer listing many contacts adds at most k of them.
        lookup.answered(by: first[1], closer: Array(contacts.dropFirst(5)))
        let second = lookup.nextQueries()
        #expect(second.map(\.peer) == [3, 4])
        for contact in second { lookup.answered(by: contact, closer: []) }
        #expect(lookup.nextQueries().map(\.peer) == [5])  // the window of k=4 live: 2, 3, 4, 5
        lookup.answered(by: contacts[4], closer: [])
        #expect(lookup.isFinished)
        #expect(lookup.closest.map(\.peer) == [2, 3, 4, 5])
        #expect(lookup.queries == 5)
    }

    @Test func aValueLookupStopsAtTheFirstValue() {
        let contacts = (1...6).map { RoutingTable<Int>.Contact(key: Self.key(UInt64($0)), peer: $0) }
        var lookup = DHTLookup<Int>(target: Self.key(0), seeds: contacts, k: 6, alpha: 3, wantsValue: true)
        let first = lookup.nextQueries()
        lookup.answered(by: first[0], closer: [], value: [42])
        #expect(lookup.isFinished)
        #expect(lookup.found?.value == [42])
        #expect(lookup.found?.hops == 1)
        #expect(lookup.nextQueries().isEmpty)
    }
}
