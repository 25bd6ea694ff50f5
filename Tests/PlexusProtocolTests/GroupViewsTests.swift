import Foundation
import PlexusCore
import Testing
@testable import PlexusProtocol

/// The views of a group's opened entries (PROTOCOL.md §13.8–13.9): retraction and
/// supersession, threads, the task board fold, BM25 and compile_context (golden).
@Suite struct GroupViewsTests {
    // Fixed authors, so ids and golden output never change.
    static let alice = AgentID(bytes: [UInt8](repeating: 0xA1, count: 32))!
    static let bob = AgentID(bytes: [UInt8](repeating: 0xB0, count: 32))!
    static let carol = AgentID(bytes: [UInt8](repeating: 0xC0, count: 32))!

    static func id(_ name: String) -> EntryID { EntryID(hashing: Data(name.utf8)) }

    static func item(
        _ name: String, by author: AgentID = alice, at time: Int64, type: String = "claim", tags: [String] = [],
        text: String = "", parent: String? = nil, supersedes: [String] = [], expires: Int64? = nil,
        content: [String: JSONValue]? = nil
    ) -> GroupItem {
        GroupItem(
            id: id(name), author: author, seq: UInt64(clamping: time), timeMs: time, cursor: time, expiresMs: expires,
            inner: GroupInner(
                type: type, tags: tags, refs: parent.map { [id($0)] } ?? [], supersedes: supersedes.map(id),
                content: .object(content ?? ["text": .string(text)])))
    }

    // MARK: - Retraction and supersession

    @Test func onlyTheAuthorRetractsOrSupersedesAndTheOrderOfArrivalDoesNotMatter() {
        let items = [
            Self.item("a1", at: 1, text: "first"),
            Self.item("a2", at: 2, text: "second"),
            Self.item("b1", by: Self.bob, at: 3, text: "bob's"),
            Self.item("a3", at: 4, text: "second, corrected", supersedes: ["a2"]),
            Self.item("r1", at: 5, type: GroupLog.retractType, parent: "a1", supersedes: ["a1"]),
            // Bob may not retract or supersede Alice's entry, nor Alice Bob's.
            Self.item("r2", by: Self.bob, at: 6, type: GroupLog.retractType, supersedes: ["a3"]),
            Self.item("a4", at: 7, text: "not bob's", supersedes: ["b1"]),
        ]
        for order in [items, items.reversed(), [items[4], items[3], items[0], items[6], items[1], items[5], items[2]]] {
            var log = GroupLog()
            for item in order { log.insert(item) }
            #expect(log.state(of: Self.id("a1")) == .retracted(by: Self.id("r1")))
            #expect(log.state(of: Self.id("a2")) == .superseded(by: Self.id("a3")))
            #expect(log.state(of: Self.id("a3")) == .current)
            #expect(log.state(of: Self.id("b1")) == .current)
            let listed = log.items.filter { log.isListed($0, nowMs: 10) }.map(\.id)
            #expect(listed == ["a3", "b1", "a4"].map(Self.id).sorted { log[$0]!.cursor < log[$1]!.cursor })
            #expect(log.items.map(\.cursor) == log.items.map(\.cursor).sorted())
        }
    }

    @Test func aRetractionWinsOverASupersessionAndExpiredEntriesAreNotListed() {
        var log = GroupLog()
        log.insert(Self.item("x", at: 1, text: "x"))
        log.insert(Self.item("y", at: 2, text: "y", supersedes: ["x"]))
        log.insert(Self.item("z", at: 3, type: GroupLog.retractType, supersedes: ["x"]))
        log.insert(Self.item("old", at: 4, text: "old", expires: 5))
        #expect(log.state(of: Self.id("x")) == .retracted(by: Self.id("z")))
        #expect(log.isListed(log[Self.id("old")]!, nowMs: 4))
        #expect(!log.isListed(log[Self.id("old")]!, nowMs: 5))
        let again = log.insert(Self.item("x", at: 1, text: "again"))
        #expect(!again)
    }

    @Test func threadsFollowTheFirstRef() {
        var log = GroupLog()
        log.insert(Self.item("root", at: 1, text: "q"))
        log.insert(Self.item("reply", by: Self.bob, at: 2, text: "a", parent: "root"))
        log.insert(Self.item("deeper", at: 3, text: "b", parent: "reply"))
        #expect(log.replies(to: Self.id("root")).map(\.id) == [Self.id("reply")])
        #expect(log.ancestors(of: Self.id("deeper")).map(\.id) == [Self.id("reply"), Self.id("root")])
        // A cycle (refs are the author's word) ends.
        log.insert(Self.item("loop1", at: 4, text: "l", parent: "loop2"))
        log.insert(Self.item("loop2", at: 5, text: "l", parent: "loop1"))
        #expect(log.ancestors(of: Self.id("loop1")).count == 1)
    }

    // MARK: - Task board

    /// A board entry: a create, or a move of `task` built on the move named `after`.
    static func board(
        _ name: String, _ type: String, by author: AgentID, at time: Int64 = 0, task: String? = nil, after: String? = nil,
        _ content: [String: JSONValue] = [:]
    ) -> GroupItem {
        GroupItem(
            id: id(name), author: author, seq: UInt64(clamping: time), timeMs: time, cursor: time, expiresMs: nil,
            inner: GroupInner(type: type, refs: [task, after].compactMap { $0.map(id) }, content: .object(content)))
    }

    static let roles: [AgentID: GroupRole] = [alice: .owner, bob: .member, carol: .member]

    @Test func theBoardFoldEnforcesWhoMayDoWhat() {
        let items = [
            Self.board("t", TaskBoard.createType, by: Self.bob, ["title": .string("write the survey")]),
            // Carol is neither creator nor manager: her assign does not count.
            Self.board("x1", TaskBoard.assignType, by: Self.carol, task: "t", after: "t", ["assignee": .string(Self.carol.hex)]),
            Self.board("as", TaskBoard.assignType, by: Self.bob, task: "t", after: "t", ["assignee": .string(Self.carol.hex)]),
            // Bob is not the assignee: he may not start it.
            Self.board("x2", TaskBoard.startType, by: Self.bob, task: "t", after: "as"),
            Self.board("st", TaskBoard.startType, by: Self.carol, task: "t", after: "as"),
            Self.board("co", TaskBoard.completeType, by: Self.carol, task: "t", after: "st", ["result": .string(Self.id("survey").hex)]),
            // Completed: it does not fail afterwards.
            Self.board("x3", TaskBoard.failType, by: Self.carol, task: "t", after: "co", ["reason": .string("too late")]),
        ]
        let board = TaskBoard.fold(items, roles: Self.roles)
        let task = board.tasks[Self.id("t")]
        #expect(task?.state == .completed && task?.assignee == Self.carol && task?.result == Self.id("survey"))
        #expect(task?.history == ["t", "as", "st", "co"].map(Self.id))
        #expect(board.refused[Self.id("x1")]?.kind == .forbidden)
        #expect(board.refused[Self.id("x2")]?.kind == .forbidden)
        #expect(board.refused[Self.id("x3")]?.kind == .conflict)
        // The same entries in another order fold the same.
        #expect(TaskBoard.fold(items.reversed(), roles: Self.roles) == board)
    }

    @Test func movesFollowTheirChainWhateverTheClocksSay() {
        // Carol's clock is behind: her start claims a time before the assign it built on.
        let items = [
            Self.board("t", TaskBoard.createType, by: Self.bob, at: 10, ["title": .string("t")]),
            Self.board("as", TaskBoard.assignType, by: Self.alice, at: 20, task: "t", after: "t", ["assignee": .string(Self.carol.hex)]),
            Self.board("st", TaskBoard.startType, by: Self.carol, at: 15, task: "t", after: "as"),
            Self.board("fa", TaskBoard.failType, by: Self.carol, at: 30, task: "t", after: "st", ["reason": .string("no data")]),
        ]
        let board = TaskBoard.fold(items, roles: Self.roles)
        #expect(board.tasks[Self.id("t")]?.state == .failed && board.tasks[Self.id("t")]?.reason == "no data")
        #expect(board.refused.isEmpty)
        // Without the manager role Alice's assign does not count, nor what was built on it.
        let demoted = TaskBoard.fold(items, roles: [Self.alice: .member, Self.bob: .member, Self.carol: .member])
        #expect(demoted.tasks[Self.id("t")]?.state == .open)
        #expect(demoted.refused.count == 3)
    }

    @Test func aBackdatedConcurrentReassignmentDoesNotUndoTheAssigneesWork() {
        let items = [
            Self.board("t", TaskBoard.createType, by: Self.bob, at: 1, ["title": .string("t"), "assignee": .string(Self.carol.hex)]),
            Self.board("st", TaskBoard.startType, by: Self.carol, at: 10, task: "t", after: "t"),
            Self.board("co", TaskBoard.completeType, by: Self.carol, at: 20, task: "t", after: "st", ["result": .string(Self.id("r").hex)]),
            // Bob, after the fact, signs a reassignment on the old head with an early time.
            Self.board("re", TaskBoard.assignType, by: Self.bob, at: 2, task: "t", after: "t", ["assignee": .string(Self.alice.hex)]),
            // And a second one on the new head: a completed task is not assigned again.
            Self.board("re2", TaskBoard.assignType, by: Self.bob, at: 3, task: "t", after: "co", ["assignee": .string(Self.alice.hex)]),
            // Two moves without a chain: not counted.
            Self.board("loose", TaskBoard.startType, by: Self.carol, at: 4, task: "t"),
        ]
        let board = TaskBoard.fold(items, roles: Self.roles)
        #expect(board.tasks[Self.id("t")]?.state == .completed && board.tasks[Self.id("t")]?.assignee == Self.carol)
        #expect(board.refused[Self.id("re")]?.kind == .conflict && board.refused[Self.id("re2")]?.kind == .conflict)
        #expect(board.refused[Self.id("loose")]?.kind == .malformed)
        #expect(TaskBoard.fold(items.shuffled(), roles: Self.roles) == board)
    }

    @Test func malformedBoardEntriesAreRefused() {
        let items = [
            Self.board("t0", TaskBoard.createType, by: Self.bob, ["title": .string("")]),
            Self.board("t1", TaskBoard.createType, by: Self.bob, ["title": .string("ok"), "assignee": .string("nobody")]),
            Self.board("m", TaskBoard.startType, by: Self.bob, task: "missing", after: "missing"),
        ]
        let board = TaskBoard.fold(items, roles: Self.roles)
        #expect(board.tasks.isEmpty)
        #expect(board.refused[Self.id("t0")]?.kind == .malformed && board.refused[Self.id("t1")]?.kind == .malformed)
        #expect(board.refused[Self.id("m")]?.kind == .conflict)
    }

    // MARK: - Search

    @Test func bm25RanksRareTermsAndShortDocumentsHigher() {
        var index = BM25Index()
        index.add(Self.id("1"), text: "the cache eviction policy is LRU")
        index.add(Self.id("2"), text: "cache and more words about many other unrelated things in the system")
        index.add(Self.id("3"), text: "eviction happens nightly")
        index.add(Self.id("4"), text: "nothing relevant here")
        let hits = index.search("cache eviction", limit: 10)
        #expect(hits.map(\.id) == [Self.id("1"), Self.id("3"), Self.id("2")])
        #expect(hits[0].score > hits[1].score && hits[1].score > hits[2].score)
        #expect(index.search("cache", limit: 10) { $0 != Self.id("1") }.map(\.id) == [Self.id("2")])
        #expect(index.search("the of", limit: 10).isEmpty)
        #expect(SearchTerms.of("Caches, CACHE-lines; x is 42!") == ["cache", "cache", "line", "42"])
    }

    // MARK: - compile_context (golden)

    /// A small research group's log: a question thread, a corrected claim, a retracted
    /// one, an expired one, near-duplicates and unrelated chatter.
    static let corpus: [GroupItem] = [
        item("q", by: bob, at: 1_000, type: "question", text: "Which cache eviction policy should the ingest service use?"),
        item("c1", at: 2_000, tags: ["cache"], text: "LRU eviction keeps the ingest cache hit rate at 92% on the replay trace.", parent: "q"),
        item("c2", by: carol, at: 3_000, tags: ["cache"], text: "LFU eviction gave 88% hit rate on the same replay trace.", parent: "q"),
        item("c3", by: carol, at: 4_000, tags: ["cache"], text: "LFU eviction gave 94% hit rate once the counters decay hourly.", supersedes: ["c2"]),
        item("c4", by: bob, at: 5_000, text: "Random eviction is as good as LRU for the ingest cache.", parent: "q"),
        item("r4", by: bob, at: 6_000, type: GroupLog.retractType, supersedes: ["c4"]),
        item("c5", at: 7_000, text: "ARC eviction was not tried; the cache library lacks it.", expires: 8_000),
        item("c6", at: 9_000, text: "LRU eviction keeps the ingest cache hit rate at 92 percent on the replay trace."),
        item("d1", by: carol, at: 10_000, text: "The ingest service also needs a bigger disk quota.", parent: "c1"),
        item("n1", by: bob, at: 11_000, text: "Lunch is at noon on Friday."),
    ]

    static func compile(_ text: String, budget: Int, since: Int64? = nil) -> CompiledContext {
        var log = GroupLog()
        var index = BM25Index()
        for item in corpus {
            log.insert(item)
            index.add(item.id, text: ContextCompiler.searchText(of: item))
        }
        return ContextCompiler.compile(ContextQuery(text: text, budgetTokens: budget, sinceMs: since, nowMs: 12_000), log: log, index: index)
    }

    static let goldenURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Vectors/compile-context.golden.txt")

    /// The whole output for a few queries and budgets against a checked-in file. Run with
    /// `PLEXUS_WRITE_GOLDEN=1` to rewrite it after a deliberate change, and read the diff.
    @Test func compileContextMatchesTheGoldenOutput() throws {
        var output = ""
        for (query, budget, since) in [
            ("cache eviction policy", 2_000, nil), ("cache eviction policy", 80, nil), ("cache eviction", 2_000, Int64(4_000)),
            ("disk quota", 2_000, nil), ("unknown words", 2_000, nil),
        ] as [(String, Int, Int64?)] {
            let context = Self.compile(query, budget: budget, since: since)
            output += "## \(query) budget=\(budget) since=\(since.map(String.init) ?? "-")\n"
            output += "tokens=\(context.tokens) candidates=\(context.candidates) omitted=\(context.omitted)\n"
            output += context.pieces.map { "\($0.reason.rawValue) \($0.tokens) | \($0.line)" }.joined(separator: "\n")
            output += "\n\n"
        }
        if ProcessInfo.processInfo.environment["PLEXUS_WRITE_GOLDEN"] == "1" {
            try output.write(to: Self.goldenURL, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: Self.goldenURL, encoding: .utf8)
        #expect(output == golden)
    }

    @Test func compileContextDropsWhatNoLongerStandsAndKeepsTheBudget() {
        let context = Self.compile("cache eviction policy", budget: 2_000)
        let ids = Set(context.pieces.map(\.item.id))
        // Retracted (c4), superseded (c2), expired (c5) and the retraction itself are out;
        // the correction (c3) is in.
        for gone in ["c4", "c2", "c5", "r4"] { #expect(!ids.contains(Self.id(gone)), "\(gone)") }
        #expect(ids.contains(Self.id("c3")) && ids.contains(Self.id("c1")))
        // A match brings its thread parent.
        #expect(context.pieces.contains { $0.item.id == Self.id("q") })
        // Every line cites its entry.
        #expect(context.pieces.allSatisfy { $0.line.hasPrefix("[\($0.item.id.hex.prefix(12))]") })
        for budget in [1, 20, 50, 80, 200] {
            let packed = Self.compile("cache eviction policy", budget: budget)
            #expect(packed.tokens <= budget && packed.pieces.reduce(0) { $0 + $1.tokens } == packed.tokens)
        }
        // The near-duplicate of c1 (c6) comes after the distinct claims.
        let order = context.pieces.filter { $0.reason == .match }.map(\.item.id)
        if let duplicate = order.firstIndex(of: Self.id("c6")), let distinct = order.firstIndex(of: Self.id("c3")) {
            #expect(distinct < duplicate)
        }
        // Outside the window nothing older is used.
        #expect(Self.compile("cache eviction", budget: 2_000, since: 4_000).pieces.allSatisfy { $0.item.timeMs >= 4_000 })
    }
}
