import Foundation
import PlexusCore
import Testing
@testable import PlexusStore

/// The per-topic feed heads anti-entropy reconciles, and the reads that serve its streams.
@Suite struct TopicHeadTests {
    @Test func headsOfferHeldEntriesAndTombstonesAreAccountedFor() async throws {
        let fixture = try StoreFixture()
        let author = TestAuthor()
        // seq 1 and 3 in "research", 2 without a topic (replicates in mesh), 4 expiring in research.
        let one = try author.entry(seq: 1, prev: nil, topic: "research")
        let two = try author.entry(seq: 2, prev: one.id)
        let three = try author.entry(seq: 3, prev: two.id, topic: "research")
        let four = try author.entry(seq: 4, prev: three.id, topic: "research", expiresMs: UInt64(fixture.clock.now + 1000))
        for entry in [one, two, three, four] { #expect(try await fixture.store.ingest(entry).stored != nil) }

        #expect(try await fixture.store.topicHeads("research") == [TopicHead(author: author.id, maxSeq: 4, count: 3, minSeq: 1)])
        #expect(try await fixture.store.topicHeads("mesh") == [TopicHead(author: author.id, maxSeq: 2, count: 1, minSeq: 2)])
        #expect(try await fixture.store.count(inTopic: "mesh") == 1)
        #expect(try await fixture.store.nextExpiryMs() == fixture.clock.now + 1000)

        fixture.clock.advance(byMs: 2000)
        // Expired but not yet swept: no longer offered.
        #expect(try await fixture.store.offeredCount(author: author.id, topic: "research", from: 1, through: 4) == 2)
        #expect(try await fixture.store.expire() == 1)
        #expect(try await fixture.store.nextExpiryMs() == nil)
        // The head offers what is held. The expired entry is not accounted for (nobody offers
        // it), so it cannot hide a missing entry beside it.
        #expect(try await fixture.store.topicHeads("research") == [TopicHead(author: author.id, maxSeq: 3, count: 2, minSeq: 1)])
        let accounted = try await fixture.store.accounting(topic: "research", of: [(author.id, 1, 9)])
        #expect(accounted[author.id] == FeedAccounting(maxSeq: 3, countInRange: 2, retainedFrom: 1))
        let range = try await fixture.store.accounting(topic: "research", of: [(author.id, 3, 4)])
        #expect(range[author.id] == FeedAccounting(maxSeq: 3, countInRange: 1, retainedFrom: 1))
        #expect(try await fixture.store.offeredCount(author: author.id, topic: "research", from: 1, through: 4) == 2)
        #expect(try await fixture.store.offeredCount(author: author.id, topic: "research", from: 2, through: 4) == 1)
        #expect(try await fixture.store.count(inTopic: "research") == 2)

        let streamed = try await fixture.store.encodedEntries(author: author.id, topic: "research", after: 1, limit: 10)
        #expect(streamed.map(\.seq) == [3])
        #expect(try SignedEntry(encoded: streamed[0].encoded) == three)
        #expect(try await fixture.store.encodedEntries(author: author.id, topic: "mesh", after: 0, limit: 10).map(\.seq) == [2])
    }

    @Test func subscriptionsAndFollowsPersist() async throws {
        let fixture = try StoreFixture()
        let author = TestAuthor().id
        #expect(try await fixture.store.interests.subscribe("research"))
        #expect(try await !fixture.store.interests.subscribe("research"))
        #expect(try await fixture.store.interests.follow(author))
        let reopened = try fixture.reopen()
        #expect(try await reopened.interests.topics() == ["research"])
        #expect(try await reopened.interests.follows() == [author])
        #expect(try await reopened.interests.unsubscribe("research"))
        #expect(try await reopened.interests.unfollow(author))
        #expect(try await reopened.interests.topics().isEmpty)
        #expect(try await !reopened.interests.unfollow(author))
    }
}
