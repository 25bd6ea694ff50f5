import Foundation
import PlexusCore
import Testing
@testable import PlexusStore

/// Author deletes and low-water marks on a real SQLite file: a delete request removes the
/// author's entries and keeps their stubs, arrives before or after what it deletes, cannot
/// touch another author's entries; old tombstones collapse into marks below which nothing
/// is accepted or wanted.
@Suite struct DeletionTests {
    /// A signed delete request of `author` at `seq` for the stubs of `entries`.
    static func deleteRequest(
        _ author: TestAuthor, seq: UInt64, prev: EntryID?, of entries: [SignedEntry], topic: String = "", timeMs: Int64 = 1_700_000_100_000
    ) throws -> SignedEntry {
        let request = DeleteRequest(topic: topic, stubs: entries.map { .init(id: $0.id, seq: $0.seq, prev: $0.prev) })
        return try SignedEntry(signing: try request.draft.body(seq: seq, prev: prev, timeMs: timeMs), with: author.key)
    }

    @Test func aDeleteRequestRemovesTheAuthorsEntriesAndKeepsTheirStubs() async throws {
        let fixture = try StoreFixture()
        let alice = TestAuthor()
        let chain = try alice.chain(4)
        for entry in chain { #expect(try await fixture.store.ingest(entry).stored != nil) }
        let request = try Self.deleteRequest(alice, seq: 5, prev: chain[3].id, of: [chain[1]])
        #expect(try await fixture.store.ingest(request).stored?.linked == true)

        #expect(try await fixture.store.entry(chain[1].id) == nil, "the content is gone")
        let stub = try #require(try await fixture.store.tombstone(chain[1].id))
        #expect(stub.seq == 2 && stub.prev == chain[0].id && stub.author == alice.id && stub.reason == "deleted")
        #expect(try await fixture.store.entry(chain[2].id)?.linked == true, "the chain stays linked across the stub")
        #expect(try await fixture.store.search(SearchQuery("\"entry 2\"")).isEmpty, "no longer searchable")
        guard case .refused(let error) = try await fixture.store.ingest(chain[1]) else {
            Issue.record("a deleted entry was accepted again")
            return
        }
        #expect(error.code == .tombstoned)
        // Heads offer what is held; sync accounts for the deleted seq.
        #expect(try await fixture.store.topicHeads("mesh") == [TopicHead(author: alice.id, maxSeq: 5, count: 4, minSeq: 1)])
    }

    @Test func aDeleteRequestArrivingFirstKeepsTheEntryOutAndLinksTheChain() async throws {
        let fixture = try StoreFixture()
        let alice = TestAuthor()
        let chain = try alice.chain(3)
        let request = try Self.deleteRequest(alice, seq: 4, prev: chain[2].id, of: [chain[1]])
        #expect(try await fixture.store.ingest(chain[0]).stored != nil)
        #expect(try await fixture.store.ingest(request).stored?.linked == false, "entry 3 is still missing")
        #expect(try await fixture.store.tombstone(chain[1].id)?.seq == 2, "the stub is kept at once")
        #expect(try await fixture.store.ingest(chain[1]).stored == nil, "the deleted entry is refused when it comes")
        #expect(try await fixture.store.ingest(chain[2]).stored?.linked == true, "entry 3 links over the stub")
        #expect(try await fixture.store.entry(request.id)?.linked == true)
        let accounting = try await fixture.store.accounting(topic: "mesh", of: [(alice.id, 1, 4)])
        #expect(accounting[alice.id] == FeedAccounting(maxSeq: 4, countInRange: 4, retainedFrom: 1), "nothing is wanted")
    }

    @Test func aDeleteRequestCannotRemoveAnotherAuthorsEntry() async throws {
        let fixture = try StoreFixture()
        let (alice, mallory) = (TestAuthor(), TestAuthor())
        let target = try alice.entry(seq: 1, prev: nil, text: "alice's")
        let notYetHere = try alice.entry(seq: 2, prev: target.id, text: "alice's second")
        #expect(try await fixture.store.ingest(target).stored != nil)
        let mine = try mallory.chain(2)
        for entry in mine { #expect(try await fixture.store.ingest(entry).stored != nil) }
        let request = try Self.deleteRequest(mallory, seq: 3, prev: mine[1].id, of: [target, notYetHere])
        #expect(try await fixture.store.ingest(request).stored != nil, "the request itself is a valid entry of Mallory's")
        #expect(try await fixture.store.entry(target.id) != nil, "Alice's held entry stays")
        #expect(try await fixture.store.ingest(notYetHere).stored != nil, "and her entry not yet held is still accepted")
        // Works for the author: the same stubs signed by Alice delete both.
        let own = try Self.deleteRequest(alice, seq: 3, prev: notYetHere.id, of: [target, notYetHere])
        #expect(try await fixture.store.ingest(own).stored != nil)
        #expect(try await fixture.store.entry(target.id) == nil)
        #expect(try await fixture.store.entry(notYetHere.id) == nil)
    }

    @Test func oldTombstonesCollapseIntoTheLowWaterMark() async throws {
        let fixture = try StoreFixture()
        let other = TestAuthor()
        let entries = try await RetentionTests.write(fixture, other, topic: "weather", count: 10)
        #expect(try await fixture.store.retention.sweep(
            .init(topic: "weather", author: nil, maxAgeMs: nil, maxCount: 4, compactKey: nil), keeping: AgentKey().id,
            excludedPrefix: "group/") == 6)
        #expect(try await fixture.store.collapseTombstones(olderThanMs: 60_000) == 0, "young tombstones stay")
        fixture.clock.advance(byMs: 61_000)
        #expect(try await fixture.store.collapseTombstones(olderThanMs: 60_000) == 6)
        #expect(try await fixture.store.stats().tombstones == 0, "the store is bounded: no tombstone per removed entry")
        #expect(try await fixture.store.retainedFrom(author: other.id, topic: "weather") == 7)
        // Below the mark nothing is accepted, nor wanted; above it all is as before.
        guard case .refused(let error) = try await fixture.store.ingest(entries[2]) else {
            Issue.record("an entry below the mark was accepted")
            return
        }
        #expect(error.code == .tombstoned)
        let accounting = try await fixture.store.accounting(topic: "weather", of: [(other.id, 1, 12)])
        #expect(accounting[other.id] == FeedAccounting(maxSeq: 10, countInRange: 4, retainedFrom: 7))
        // A restart keeps the mark.
        let reopened = try fixture.reopen()
        #expect(try await reopened.retainedFrom(author: other.id, topic: "weather") == 7)
        #expect(try await reopened.ingest(entries[0]).stored == nil)
    }

    @Test func theTombstoneOfAnOwnFeedHeadStaysSoTheFeedContinues() async throws {
        let fixture = try StoreFixture()
        let me = TestAuthor()
        var chain: [SignedEntry] = []
        for seq in UInt64(1)...3 {
            chain.append(try me.entry(seq: seq, prev: chain.last?.id, expiresMs: UInt64(fixture.clock.now + 1_000)))
            #expect(try await fixture.store.ingest(chain[chain.count - 1]).stored != nil)
        }
        fixture.clock.advance(byMs: 2_000)
        #expect(try await fixture.store.expire() == 3)
        fixture.clock.advance(byMs: 10_000)
        #expect(try await fixture.store.collapseTombstones(olderThanMs: 1_000) == 2, "all but the head's tombstone collapse")
        #expect(try await fixture.store.tombstone(chain[2].id)?.seq == 3)
        #expect(try await fixture.store.retainedFrom(author: me.id, topic: "mesh") == 3)
        let fourth = try me.entry(seq: 4, prev: chain[2].id)
        let next = try await fixture.store.writer.append(as: me.id, searchText: "") { head throws(PlexusError) in
            #expect(head == FeedHead(seq: 3, id: chain[2].id))
            return fourth
        }
        #expect(next.entry.seq == 4 && next.entry.prev == chain[2].id, "the own feed continues after its head")
    }
}
