import Foundation
import PlexusCore
import Testing
@testable import PlexusStore

/// Retention sweeps on a real SQLite file: each bound removes what it does not keep and
/// leaves tombstones (so the entries are refused if they come again), heads are counted
/// again, and what is out of scope (own entries, group topics, other topics) stays.
@Suite struct RetentionTests {
    typealias Rule = RetentionStore.Rule

    /// Entries of `author` in `topic`, each received 1 s after the one before.
    static func write(
        _ fixture: StoreFixture, _ author: TestAuthor, topic: String, count: Int, from seq: UInt64 = 1, after prev: EntryID? = nil,
        content: (Int) -> JSONValue = { .object(["text": .string("entry \($0)")]) }
    ) async throws -> [SignedEntry] {
        var entries: [SignedEntry] = []
        var previous = prev
        for index in 0..<count {
            let draft = EntryDraft(type: "insight", topic: topic, content: content(index))
            let entry = try SignedEntry(signing: try draft.body(seq: seq + UInt64(index), prev: previous, timeMs: fixture.clock.now), with: author.key)
            #expect(try await fixture.store.ingest(entry).stored != nil)
            fixture.clock.advance(byMs: 1000)
            entries.append(entry)
            previous = entry.id
        }
        return entries
    }

    static func held(_ fixture: StoreFixture, _ entries: [SignedEntry]) async throws -> [Bool] {
        var held: [Bool] = []
        for entry in entries { held.append(try await fixture.store.entry(entry.id) != nil) }
        return held
    }

    @Test func maxCountKeepsTheNewestPerTopicAndTombstonesTheRest() async throws {
        let fixture = try StoreFixture()
        let (other, own) = (TestAuthor(), TestAuthor())
        let weather = try await Self.write(fixture, other, topic: "weather", count: 10)
        let mine = try await Self.write(fixture, own, topic: "weather", count: 3)
        let group = try await Self.write(fixture, other, topic: "group/abc", count: 3, from: 11, after: weather.last?.id)

        let removed = try await fixture.store.retention.sweep(
            Rule(topic: "weather", author: nil, maxAgeMs: nil, maxCount: 4, compactKey: nil), keeping: own.id, excludedPrefix: "group/")
        #expect(removed == 6)
        #expect(try await Self.held(fixture, weather) == Array(repeating: false, count: 6) + Array(repeating: true, count: 4))
        #expect(try await Self.held(fixture, mine) == [true, true, true], "own entries are kept")
        #expect(try await Self.held(fixture, group) == [true, true, true], "group topics are out of scope")
        // Heads describe what is held; a removed entry is refused when it comes again.
        #expect(try await fixture.store.topicHeads("weather").first { $0.author == other.id } == TopicHead(author: other.id, maxSeq: 10, count: 4, minSeq: 7))
        guard case .refused(let error) = try await fixture.store.ingest(weather[0]) else {
            Issue.record("a removed entry was accepted again")
            return
        }
        #expect(error.code == .tombstoned)
        #expect(try await fixture.store.stats().tombstones == 6)
        // A second sweep finds nothing more to remove.
        #expect(try await fixture.store.retention.sweep(
            Rule(topic: "weather", author: nil, maxAgeMs: nil, maxCount: 4, compactKey: nil), keeping: own.id, excludedPrefix: "group/") == 0)
        // A policy naming this agent removes its own entries too.
        #expect(try await fixture.store.retention.sweep(
            Rule(topic: nil, author: own.id, maxAgeMs: nil, maxCount: 1, compactKey: nil), keeping: own.id, excludedPrefix: "group/") == 2)
        #expect(try await Self.held(fixture, mine) == [false, false, true])
    }

    @Test func maxAgeRemovesWhatWasReceivedLongerAgo() async throws {
        let fixture = try StoreFixture()
        let other = TestAuthor()
        let old = try await Self.write(fixture, other, topic: "news", count: 3)
        fixture.clock.advance(byMs: 60_000)
        let recent = try await Self.write(fixture, other, topic: "news", count: 2, from: 4, after: old.last?.id)
        let elsewhere = try await Self.write(fixture, TestAuthor(), topic: "sports", count: 2)
        fixture.clock.advance(byMs: 10_000)
        // Only entries received over 30 s ago, in every topic but the excluded ones.
        let removed = try await fixture.store.retention.sweep(
            Rule(topic: "news", author: nil, maxAgeMs: 30_000, maxCount: nil, compactKey: nil), keeping: AgentKey().id, excludedPrefix: "group/")
        #expect(removed == 3)
        #expect(try await Self.held(fixture, old + recent) == [false, false, false, true, true])
        #expect(try await Self.held(fixture, elsewhere) == [true, true], "another topic is out of scope")
    }

    @Test func compactKeyKeepsTheNewestEntryPerValue() async throws {
        let fixture = try StoreFixture()
        let other = TestAuthor()
        let symbols = ["AAPL", "MSFT", "AAPL", "AAPL", "MSFT"]
        let prices = try await Self.write(fixture, other, topic: "prices", count: 6) { index in
            index < symbols.count ? .object(["quote": .object(["symbol": .string(symbols[index])]), "price": .integer(Int64(index))]) : .object(["text": .string("no symbol")])
        }
        let removed = try await fixture.store.retention.sweep(
            Rule(topic: nil, author: nil, maxAgeMs: nil, maxCount: nil, compactKey: try JSONPath("$.quote.symbol")), keeping: AgentKey().id,
            excludedPrefix: "group/")
        #expect(removed == 3)
        // The newest AAPL (index 3) and MSFT (index 4) stay, and the entry without a symbol.
        #expect(try await Self.held(fixture, prices) == [false, false, false, true, true, true])
    }

    @Test func pathsAndBoundsAreChecked() throws {
        #expect(throws: PlexusError.self) { try JSONPath("$.") }
        #expect(throws: PlexusError.self) { try JSONPath("a[0]") }
        #expect(throws: PlexusError.self) { try JSONPath("a.b.c.d.e.f.g.h.i") }
        #expect(try JSONPath("$.quote.symbol").keys == ["quote", "symbol"] && JSONPath("key").keys == ["key"])
        #expect(throws: PlexusError.self) { try RetentionPolicyRequest(topic: "t").validated() }
        #expect(throws: PlexusError.self) { try RetentionPolicyRequest(maxCount: -1).validated() }
        #expect(throws: PlexusError.self) { try RetentionPolicyRequest(maxAgeS: 0).validated() }
        #expect(throws: PlexusError.self) { try RetentionPolicyRequest(topic: "t", author: AgentKey().id, maxCount: 1).validated() }
        #expect(try RetentionPolicyRequest(topic: "t", maxCount: 5).validated().maxCount == 5)
        #expect(try RetentionPolicyRequest.seconds(from: "7d") == 604_800 && RetentionPolicyRequest.seconds(from: "90") == 90)
        #expect(throws: PlexusError.self) { try RetentionPolicyRequest.seconds(from: "-5m") }
        #expect(throws: PlexusError.self) { try RetentionPolicyRequest.seconds(from: "soon") }
    }
}
