import Foundation
import PlexusCore
import Testing
@testable import PlexusStore

/// Feed filters, cursor paging, threads and FTS5 search on a real SQLite file.
@Suite struct QueryTests {
    @Test func filtersSelectByAuthorTopicTypeTagAndRef() async throws {
        let fixture = try StoreFixture()
        let alice = TestAuthor()
        let bob = TestAuthor()
        let a1 = try alice.entry(seq: 1, prev: nil, type: "insight", topic: "swift", tags: ["nio"])
        let a2 = try alice.entry(seq: 2, prev: a1.id, type: "query", topic: "rust", tags: ["tokio", "nio"])
        let b1 = try bob.entry(seq: 1, prev: nil, type: "response", topic: "swift", refs: [a2.id])
        for entry in [a1, a2, b1] { _ = try await fixture.store.ingest(entry) }

        func ids(_ query: FeedQuery) async throws -> Set<EntryID> {
            Set(try await fixture.store.feed(query).entries.map(\.entry.id))
        }
        #expect(try await ids(FeedQuery(author: alice.id)) == [a1.id, a2.id])
        #expect(try await ids(FeedQuery(topic: "swift")) == [a1.id, b1.id])
        #expect(try await ids(FeedQuery(type: "query")) == [a2.id])
        #expect(try await ids(FeedQuery(tag: "nio")) == [a1.id, a2.id])
        #expect(try await ids(FeedQuery(tag: "tokio")) == [a2.id])
        #expect(try await ids(FeedQuery(ref: a2.id)) == [b1.id])
        #expect(try await ids(FeedQuery(author: alice.id, tag: "tokio")) == [a2.id])
    }

    @Test func cursorPagingCoversEveryEntryOnceInBothDirections() async throws {
        let fixture = try StoreFixture()
        let chain = try TestAuthor().chain(25)
        for entry in chain { _ = try await fixture.store.ingest(entry) }

        var seen: [UInt64] = []
        var since: Int64 = 0
        while true {
            let page = try await fixture.store.feed(FeedQuery(since: since, limit: 10))
            seen += page.entries.map(\.entry.seq)
            since = try #require(page.nextCursor)
            if !page.hasMore { break }
        }
        #expect(seen == Array(1...25))
        // A poller with nothing new keeps its place.
        let idle = try await fixture.store.feed(FeedQuery(since: since, limit: 10))
        #expect(idle.entries.isEmpty)
        #expect(idle.nextCursor == since)

        var newestFirst: [UInt64] = []
        var before: Int64?
        repeat {
            let page = try await fixture.store.feed(FeedQuery(before: before, limit: 7))
            newestFirst += page.entries.map(\.entry.seq)
            before = page.nextCursor
        } while before != nil
        #expect(newestFirst == Array((1...25).reversed()))
    }

    @Test func invalidPagingArgumentsAreRefused() async throws {
        let fixture = try StoreFixture()
        for query in [FeedQuery(limit: 0), FeedQuery(limit: 5000), FeedQuery(limit: -1)] {
            let error = await #expect(throws: PlexusError.self) { try await fixture.store.feed(query) }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test func threadFollowsRefsTransitively() async throws {
        let fixture = try StoreFixture()
        let alice = TestAuthor()
        let bob = TestAuthor()
        let root = try alice.entry(seq: 1, prev: nil, text: "question")
        let reply = try bob.entry(seq: 1, prev: nil, text: "answer", refs: [root.id])
        let replyToReply = try alice.entry(seq: 2, prev: root.id, text: "thanks", refs: [reply.id])
        let unrelated = try bob.entry(seq: 2, prev: reply.id, text: "other")
        for entry in [root, reply, replyToReply, unrelated] { _ = try await fixture.store.ingest(entry) }
        let thread = try await fixture.store.thread(root.id)
        #expect(thread.map(\.entry.id) == [root.id, reply.id, replyToReply.id])
    }

    @Test func searchMatchesTypeTagsAndContentStringsWithStemming() async throws {
        let fixture = try StoreFixture()
        let author = TestAuthor()
        let e1 = try author.entry(seq: 1, prev: nil, text: "Rate limiting prevents cascading failures")
        let e2 = try author.entry(seq: 2, prev: e1.id, text: "unrelated", type: "benchmark")
        let e3 = try author.entry(seq: 3, prev: e2.id, text: "unrelated too", tags: ["consensus"])
        for entry in [e1, e2, e3] { _ = try await fixture.store.ingest(entry) }

        #expect(try await fixture.store.search(SearchQuery("cascade")).map(\.entry.entry.id) == [e1.id])  // porter stem
        #expect(try await fixture.store.search(SearchQuery("benchmark")).map(\.entry.entry.id) == [e2.id])
        #expect(try await fixture.store.search(SearchQuery("consensus")).map(\.entry.entry.id) == [e3.id])
        #expect(try await fixture.store.search(SearchQuery("limit* failure")).map(\.entry.entry.id) == [e1.id])
        #expect(Set(try await fixture.store.search(SearchQuery("benchmark OR consensus")).map(\.entry.entry.id)) == [e2.id, e3.id])
        #expect(try await fixture.store.search(SearchQuery("cascade", type: "benchmark")).isEmpty)
    }

    @Test func searchRanksStrongerMatchesFirst() async throws {
        let fixture = try StoreFixture()
        let author = TestAuthor()
        var prev: EntryID?
        var entries: [SignedEntry] = []
        let texts = [
            "gossip is mentioned once among many other words about storage and indexing and queues",
            "gossip gossip gossip: a note about gossip",
            "nothing relevant here at all",
        ]
        for (index, text) in texts.enumerated() {
            let entry = try author.entry(seq: UInt64(index + 1), prev: prev, text: text)
            entries.append(entry)
            prev = entry.id
            _ = try await fixture.store.ingest(entry)
        }
        let hits = try await fixture.store.search(SearchQuery("gossip"))
        #expect(hits.map(\.entry.entry.id) == [entries[1].id, entries[0].id])
        #expect(hits[0].rank < hits[1].rank)
    }

    @Test func hostileSearchTextIsNeverASyntaxError() async throws {
        let fixture = try StoreFixture()
        _ = try await fixture.store.ingest(try TestAuthor().entry(seq: 1, prev: nil, text: "plain words"))
        for text in ["\"unbalanced", "a AND (b", "NEAR(x y)", "col:value", "OR OR plain", "-plain", "^plain", "plain*"] {
            // FTS5 syntax in user text is quoted away: each finds something or nothing.
            _ = try await fixture.store.search(SearchQuery(text))
        }
        // Text without a word matches nothing (it is not an error: the API's `q` is any text).
        #expect(try await fixture.store.search(SearchQuery("  \" * OR ")).isEmpty)
        #expect(try await fixture.store.search(SearchQuery("\"plain")).count == 1)
    }
}

@Suite struct SearchTextTests {
    @Test(arguments: [
        #"{"b":["x",{"z":"deep","a":"first"}],"a":"top","n":1,"t":true}"#,
        #"{"text":"caf\u00e9 \ud83d\ude00 line\nbreak"}"#,
        #"{}"#,
    ])
    func bytesAndParsedValuesGiveTheSameSearchText(json: String) throws {
        let value = try JSONValue(parsing: Data(json.utf8))
        #expect(IndexedEntry.searchText(ofContent: Data(json.utf8)) == IndexedEntry.searchText(of: value))
    }

    @Test func nonJSONContentHasNoSearchText() {
        #expect(IndexedEntry.searchText(ofContent: Data([0x00, 0xff, 0x10])).isEmpty)
    }
}
