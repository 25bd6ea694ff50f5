import Foundation
import PlexusCore
import Testing
@testable import PlexusStore

/// DESIGN §4's feed rules against a real SQLite file: gaps, linking, forks, duplicates.
@Suite struct FeedRulesTests {
    @Test func inOrderEntriesAreStoredLinked() async throws {
        let fixture = try StoreFixture()
        let author = TestAuthor()
        for entry in try author.chain(3) {
            let stored = try #require(try await fixture.store.ingest(entry).stored)
            #expect(stored.linked)
        }
        #expect(try await fixture.store.head(of: author.id)?.seq == 3)
    }

    @Test func outOfOrderEntriesAreUnlinkedUntilTheGapFills() async throws {
        let fixture = try StoreFixture()
        let author = TestAuthor()
        let chain = try author.chain(4)
        let third = try #require(try await fixture.store.ingest(chain[2]).stored)
        #expect(!third.linked)
        _ = try await fixture.store.ingest(chain[3])
        #expect(try await fixture.store.head(of: author.id) == nil)
        let first = try #require(try await fixture.store.ingest(chain[0]).stored)
        #expect(first.linked)
        #expect(try await fixture.store.head(of: author.id)?.seq == 1)
        #expect(try await fixture.store.entry(chain[2].id)?.linked == false)

        _ = try await fixture.store.ingest(chain[1])  // fills the gap: 3 and 4 link too
        #expect(try await fixture.store.head(of: author.id)?.seq == 4)
        #expect(try await fixture.store.entry(chain[2].id)?.linked == true)
        #expect(try await fixture.store.entry(chain[3].id)?.linked == true)
    }

    @Test func duplicateIsReportedAndChangesNothing() async throws {
        let fixture = try StoreFixture()
        let entry = try TestAuthor().entry(seq: 1, prev: nil)
        let stored = try #require(try await fixture.store.ingest(entry).stored)
        #expect(try await fixture.store.ingest(entry) == .duplicate(cursor: stored.cursor))
        #expect(try await fixture.store.stats().entries == 1)
    }

    @Test func secondEntryAtTheSameSeqIsAForkWithProofAndLaterEntriesAreRefused() async throws {
        let fixture = try StoreFixture()
        let author = TestAuthor()
        let original = try author.entry(seq: 1, prev: nil, text: "original")
        let conflicting = try author.entry(seq: 1, prev: nil, text: "conflicting")
        _ = try await fixture.store.ingest(original)

        guard case .refused(let error) = try await fixture.store.ingest(conflicting) else {
            Issue.record("fork was not refused")
            return
        }
        #expect(error.code == .forkDetected)
        let proofs = try await fixture.store.forks()
        let proof = try #require(proofs.first)
        #expect(proof.author == author.id)
        #expect(proof.seq == 1)
        #expect(proof.held.id == original.id)
        #expect(proof.conflicting.id == conflicting.id)
        // The proof verifies on its own: both entries carry the author's valid signature.
        #expect(try SignedEntry(body: proof.conflicting.body, signature: proof.conflicting.signature).author == author.id)

        let next = try author.entry(seq: 2, prev: original.id)
        guard case .refused(let later) = try await fixture.store.ingest(next) else {
            Issue.record("entry of a forked author was accepted")
            return
        }
        #expect(later.code == .authorForked)
        let stats = try await fixture.store.stats()
        #expect(stats.entries == 1)
        #expect(stats.forkedAuthors == 1)
    }

    @Test func entryWhosePrevContradictsTheHeldPredecessorIsAFork() async throws {
        let fixture = try StoreFixture()
        let author = TestAuthor()
        let first = try author.entry(seq: 1, prev: nil)
        let otherFirst = try author.entry(seq: 1, prev: nil, text: "other history")
        _ = try await fixture.store.ingest(first)
        let second = try author.entry(seq: 2, prev: otherFirst.id)  // builds on a seq 1 we do not hold
        guard case .refused(let error) = try await fixture.store.ingest(second) else {
            Issue.record("contradicting prev was accepted")
            return
        }
        #expect(error.code == .forkDetected)
        #expect(try await fixture.store.forks().first?.seq == 1)
        #expect(try await fixture.store.entry(second.id) == nil)
    }

    @Test func successorThatDoesNotNameTheNewEntryIsAFork() async throws {
        let fixture = try StoreFixture()
        let author = TestAuthor()
        let first = try author.entry(seq: 1, prev: nil)
        let secondA = try author.entry(seq: 2, prev: first.id, text: "a")
        let secondB = try author.entry(seq: 2, prev: first.id, text: "b")
        let third = try author.entry(seq: 3, prev: secondA.id)
        _ = try await fixture.store.ingest(third)  // unlinked, waiting for seq 2
        guard case .refused(let error) = try await fixture.store.ingest(secondB) else {
            Issue.record("seq 2 that seq 3 does not build on was accepted")
            return
        }
        #expect(error.code == .forkDetected)
    }

    @Test func localAppendsUnderConcurrencyFormOneGaplessChain() async throws {
        let fixture = try StoreFixture()
        let key = AgentKey()
        let writer = fixture.store.writer
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    _ = try await writer.append(as: key.id, searchText: "") { head throws(PlexusError) in
                        let draft = EntryDraft(content: .object(["n": .integer(Int64(index))]))
                        return try SignedEntry(signing: try draft.body(seq: (head?.seq ?? 0) + 1, prev: head?.id, timeMs: 0), with: key)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await fixture.store.head(of: key.id)?.seq == 200)
        let page = try await fixture.store.feed(FeedQuery(author: key.id, since: 0, limit: 1000))
        #expect(page.entries.count == 200)
        #expect(page.entries.allSatisfy { $0.linked })
        #expect(Set(page.entries.map(\.entry.seq)) == Set(1...200))
        #expect(try await fixture.store.stats().forkedAuthors == 0)
    }

    @Test func ownFeedContinuesAfterTheHighestHeldSeqEvenAcrossAGap() async throws {
        // The agent's own entries came back from peers out of order (seq 2 still missing):
        // a new publish must follow seq 3, never sign a second seq 2.
        let fixture = try StoreFixture()
        let own = TestAuthor()
        let chain = try own.chain(3)
        _ = try await fixture.store.ingest(chain[0])
        _ = try await fixture.store.ingest(chain[2])
        let next = try await fixture.store.writer.append(as: own.id, searchText: "") { head throws(PlexusError) in
            #expect(head?.seq == 3)
            let draft = EntryDraft(content: .object([:]))
            return try SignedEntry(signing: try draft.body(seq: (head?.seq ?? 0) + 1, prev: head?.id, timeMs: 0), with: own.key)
        }
        #expect(next.entry.seq == 4)
        #expect(next.entry.prev == chain[2].id)
        _ = try await fixture.store.ingest(chain[1])
        #expect(try await fixture.store.head(of: own.id)?.seq == 4)
        #expect(try await fixture.store.stats().forkedAuthors == 0)
    }

    @Test func anOwnEntrySubmittedBetweenAppendsMovesTheHeadTheNextAppendFollows() async throws {
        // The node appended seq 1 (so its writer knows the head), then an own entry signed
        // elsewhere came in as seq 2: the next append must be seq 3, not a second seq 2.
        let fixture = try StoreFixture()
        let own = TestAuthor()
        func append() async throws -> StoredEntry {
            try await fixture.store.writer.append(as: own.id, searchText: "") { head throws(PlexusError) in
                let draft = EntryDraft(content: .object([:]))
                return try SignedEntry(signing: try draft.body(seq: (head?.seq ?? 0) + 1, prev: head?.id, timeMs: 0), with: own.key)
            }
        }
        let first = try await append()
        let submitted = try own.entry(seq: 2, prev: first.entry.id)
        #expect(try await fixture.store.ingest(submitted, arrival: .submitted).stored != nil)
        let next = try await append()
        #expect(next.entry.seq == 3)
        #expect(next.entry.prev == submitted.id)
        #expect(try await fixture.store.stats().forkedAuthors == 0)
    }

    @Test func acknowledgedEntriesSurviveReopening() async throws {
        let fixture = try StoreFixture()
        let chain = try TestAuthor().chain(5)
        for entry in chain { _ = try await fixture.store.ingest(entry) }
        let reopened = try fixture.reopen()
        #expect(try await reopened.stats().entries == 5)
        #expect(try await reopened.entry(chain[4].id)?.entry.body == chain[4].body)
    }

    @Test func knownIdsAreTheHeldAndTombstonedOnesAmongThoseAsked() async throws {
        let fixture = try StoreFixture()
        let author = TestAuthor()
        let expiring = try author.entry(seq: 1, prev: nil, text: "short lived", expiresMs: UInt64(fixture.clock.now + 1000))
        let held = try author.entry(seq: 2, prev: expiring.id, text: "held")
        let unheld = try author.entry(seq: 3, prev: held.id, text: "not here")
        _ = try await fixture.store.ingest(expiring)
        _ = try await fixture.store.ingest(held)
        fixture.clock.advance(byMs: 1001)
        #expect(try await fixture.store.expire() == 1)
        #expect(try await fixture.store.known([expiring.id, held.id, unheld.id]) == [expiring.id, held.id])
        #expect(try await fixture.store.known([unheld.id]).isEmpty)
        // More ids than one statement binds.
        let many = try TestAuthor().chain(1200)
        _ = try await fixture.store.ingest(contentsOf: many)
        #expect(try await fixture.store.known(many.map(\.id) + [unheld.id]) == Set(many.map(\.id)))
    }

    @Test func expiredEntriesBecomeTombstonesAndAreNeverAcceptedAgain() async throws {
        let fixture = try StoreFixture()
        let author = TestAuthor()
        let expiring = try author.entry(seq: 1, prev: nil, text: "short lived", expiresMs: UInt64(fixture.clock.now + 1000))
        let lasting = try author.entry(seq: 2, prev: expiring.id, text: "stays")
        _ = try await fixture.store.ingest(expiring)
        _ = try await fixture.store.ingest(lasting)
        #expect(try await fixture.store.expire() == 0)

        fixture.clock.advance(byMs: 1001)
        #expect(try await fixture.store.expire() == 1)
        #expect(try await fixture.store.entry(expiring.id) == nil)
        #expect(try await fixture.store.isTombstoned(expiring.id))
        #expect(try await fixture.store.search(SearchQuery("short")).isEmpty)
        guard case .refused(let error) = try await fixture.store.ingest(expiring) else {
            Issue.record("tombstoned entry was accepted again")
            return
        }
        #expect(error.code == .tombstoned)
        // The feed head survives its entry's expiry, so the author's next seq is still known.
        #expect(try await fixture.store.head(of: author.id)?.seq == 2)
    }

    @Test func entryArrivingAlreadyExpiredIsRefused() async throws {
        let fixture = try StoreFixture()
        let entry = try TestAuthor().entry(seq: 1, prev: nil, expiresMs: UInt64(fixture.clock.now - 1))
        guard case .refused(let error) = try await fixture.store.ingest(entry) else {
            Issue.record("expired entry was stored")
            return
        }
        #expect(error.code == .tombstoned)
    }

    /// The same rules when the entries arrive together: one transaction, where the writer
    /// checks an entry beyond the feed's highest held seq against the predecessor it has
    /// just stored instead of reading the table.
    @Test func feedRulesHoldWithinOneBatch() async throws {
        let fixture = try StoreFixture()
        let author = TestAuthor()
        let chain = try author.chain(3)
        let otherThird = try author.entry(seq: 3, prev: chain[1].id, text: "other history")
        let forked = try author.entry(seq: 4, prev: otherThird.id)
        let outcomes = try await fixture.store.ingest(contentsOf: chain + [chain[2], forked])
        let cursors = try outcomes.prefix(3).map { try #require($0.stored?.cursor) }
        #expect(outcomes[3] == .duplicate(cursor: cursors[2]), "the same entry twice in one batch")
        guard case .refused(let error) = outcomes[4] else {
            Issue.record("an entry whose prev is not the held seq 3 was accepted")
            return
        }
        #expect(error.code == .forkDetected)
        #expect(try await fixture.store.forks().first?.seq == 3)

        // Works: a batch out of order links once the gap fills, and a delete request that
        // removes the newest entry is followed by an entry that names the request.
        let other = TestAuthor()
        let feed = try other.chain(3)
        let request = try DeletionTests.deleteRequest(other, seq: 4, prev: feed[2].id, of: [feed[2]])
        let next = try other.entry(seq: 5, prev: request.id)
        let stored = try await fixture.store.ingest(contentsOf: [feed[0], feed[2], feed[1], request, next])
        #expect(stored.allSatisfy { $0.stored != nil })
        #expect(try await fixture.store.head(of: other.id)?.seq == 5)
        #expect(try await fixture.store.entry(feed[2].id) == nil, "the request removed seq 3")
        #expect(try await fixture.store.entry(next.id)?.linked == true)
        #expect(try await fixture.store.stats().forkedAuthors == 1, "only the first author forked")
    }

    /// A seq beyond 2^63 − 2 is refused, not stored, and the rest of its batch is; the
    /// highest seq stored works, and a second entry there is a fork. (Before the bound, two
    /// seqs beyond 2^63 − 1 were both stored as 2^63 − 1 and the fork check overflowed.)
    @Test func seqsBeyondTheStoredRangeAreRefusedAndTheBatchGoesOn() async throws {
        let fixture = try StoreFixture()
        let author = TestAuthor()
        let chain = try author.chain(2)
        let atInt64Max = try author.entry(seq: UInt64(Int64.max), prev: chain[1].id, text: "a")
        let atUInt64Max = try author.entry(seq: .max, prev: chain[1].id, text: "b")
        let outcomes = try await fixture.store.ingest(contentsOf: [chain[0], atInt64Max, atUInt64Max, chain[1]])
        #expect(outcomes[0].stored != nil && outcomes[3].stored != nil, "the rest of the batch is stored")
        for outcome in [outcomes[1], outcomes[2]] {
            guard case .refused(let error) = outcome else {
                Issue.record("a seq beyond the stored range was not refused: \(outcome)")
                continue
            }
            #expect(error.code == .malformedEntry)
        }

        let highest = try author.entry(seq: UInt64(Int64.max - 1), prev: chain[1].id, text: "highest")
        #expect(try await fixture.store.ingest(highest).stored?.linked == false)
        let other = try author.entry(seq: UInt64(Int64.max - 1), prev: chain[1].id, text: "other")
        guard case .refused(let error) = try await fixture.store.ingest(other) else {
            Issue.record("a second entry at the highest seq was accepted")
            return
        }
        #expect(error.code == .forkDetected)
    }
}
