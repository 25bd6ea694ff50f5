import Foundation
import GRDB
import PlexusCore
import Testing
@testable import PlexusStore

/// Which writes wait for an fsync. Replicated entries are committed without one; every
/// other write on the shared writer connection (groups, direct messages, blobs, peers)
/// must still be durable after them.
@Suite struct DurabilityTests {
    /// The writer connection's `synchronous` setting as a write transaction sees it.
    private func synchronous(_ fixture: StoreFixture) async throws -> Int {
        try await fixture.store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    @Test func writesAfterReplicatedEntriesStayDurable() async throws {
        let fixture = try StoreFixture()
        let author = TestAuthor()
        let full = 2
        #expect(try await synchronous(fixture) == full)

        // An entry handed in through the API commits with FULL.
        let first = try author.entry(seq: 1, prev: nil)
        #expect(try await fixture.store.writer.ingest(IndexedEntry(first), arrival: .submitted).stored != nil)
        #expect(try await synchronous(fixture) == full)

        // A pushed entry commits without the fsync, and leaves the connection as it was.
        let second = try author.entry(seq: 2, prev: first.id)
        #expect(try await fixture.store.writer.ingest(IndexedEntry(second), arrival: .pushed).stored != nil)
        #expect(try await synchronous(fixture) == full, "the next write on the connection is durable again")

        // So does a refused one (a fork), and a synced batch.
        let conflicting = try author.entry(seq: 2, prev: first.id, text: "another")
        #expect(try await fixture.store.writer.ingest(IndexedEntry(conflicting), arrival: .pushed).stored == nil)
        #expect(try await synchronous(fixture) == full)
        let other = TestAuthor()
        let outcomes = try await fixture.store.writer.ingest(contentsOf: try other.chain(3).map { IndexedEntry($0) }, arrival: .synced)
        #expect(outcomes.allSatisfy { $0.stored != nil })
        #expect(try await synchronous(fixture) == full)
    }
}
