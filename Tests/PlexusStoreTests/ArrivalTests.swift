import Foundation
import PlexusCore
import Testing
@testable import PlexusStore

/// The signals that wake readers when entries are stored.
@Suite struct ArrivalTests {
    /// A prefix's signal moves for entries of its topics and not for others, while the
    /// store-wide signal moves for every stored entry.
    @Test func aTopicPrefixSignalMovesOnlyForItsTopics() async throws {
        let fixture = try StoreFixture()
        let author = TestAuthor()
        let groups = fixture.store.topicArrivals.signal(forPrefix: "group/")
        #expect(fixture.store.topicArrivals.signal(forPrefix: "group/") === groups)
        let start = await groups.latest

        let plain = try author.entry(seq: 1, prev: nil, topic: "general")
        let plainCursor = try #require(try await fixture.store.ingest(plain).stored?.cursor)
        #expect(await fixture.store.arrivals.latest == plainCursor)
        #expect(await groups.latest == start, "an entry of another topic does not wake group readers")

        let grouped = try author.entry(seq: 2, prev: plain.id, topic: "group/abc")
        let groupCursor = try #require(try await fixture.store.ingest(grouped).stored?.cursor)
        #expect(await groups.latest == groupCursor)
        #expect(await fixture.store.arrivals.latest == groupCursor)

        // A reader waiting beyond what it has read is woken by the next group entry.
        let waiting = Task { try await groups.wait(after: groupCursor, timeout: .seconds(30)) }
        let third = try author.entry(seq: 3, prev: grouped.id, topic: "general")
        _ = try await fixture.store.ingest(third)
        let fourth = try author.entry(seq: 4, prev: third.id, topic: "group/abc")
        let fourthCursor = try #require(try await fixture.store.ingest(fourth).stored?.cursor)
        try await waiting.value
        #expect(await groups.latest == fourthCursor)
    }

    /// The expiry sweep's signal moves for entries with an expiry time only.
    @Test func theExpiringSignalMovesOnlyForEntriesThatExpire() async throws {
        let fixture = try StoreFixture()
        let author = TestAuthor()
        let start = await fixture.store.expiringArrivals.latest
        let lasting = try author.entry(seq: 1, prev: nil)
        _ = try await fixture.store.ingest(lasting)
        #expect(await fixture.store.expiringArrivals.latest == start)
        let expiring = try author.entry(seq: 2, prev: lasting.id, expiresMs: UInt64(fixture.clock.now + 60_000))
        let cursor = try #require(try await fixture.store.ingest(expiring).stored?.cursor)
        #expect(await fixture.store.expiringArrivals.latest == cursor)
    }
}
