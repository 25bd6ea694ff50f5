import PlexusCore

/// What `compile_context` is asked for.
public struct ContextQuery: Sendable, Equatable {
    public var text: String
    /// Most tokens the packed context may take (estimated as UTF-8 bytes / 4, rounded up).
    public var budgetTokens: Int
    /// Only entries signed at or after this time (ms since the epoch, the author's clock).
    public var sinceMs: Int64?
    public var nowMs: Int64

    public init(text: String, budgetTokens: Int, sinceMs: Int64? = nil, nowMs: Int64) {
        self.text = text
        self.budgetTokens = budgetTokens
        self.sinceMs = sinceMs
        self.nowMs = nowMs
    }
}

/// One entry placed in a compiled context.
public struct ContextPiece: Sendable, Equatable {
    /// Why the entry is there.
    public enum Reason: String, Sendable, Codable {
        /// It matches the query.
        case match
        /// It is the thread parent of a match.
        case parent
        /// It is the best reply to a match.
        case reply
    }

    public var item: GroupItem
    public var reason: Reason
    /// The line the context holds for it, citing the entry id.
    public var line: String
    public var tokens: Int
    /// Fused rank score of a match (0 for parents and replies).
    public var score: Double
}

/// A packed context: pieces in reading order and the text an LLM is given.
public struct CompiledContext: Sendable, Equatable {
    public var pieces: [ContextPiece]
    public var tokens: Int
    public var budgetTokens: Int
    /// Matching entries that stand and lie in the window.
    public var candidates: Int
    /// Matches left out because the budget was spent.
    public var omitted: Int
    public var text: String { pieces.map(\.line).joined(separator: "\n") }
}

/// `compile_context` (DESIGN §9, PROTOCOL.md §13.8): a pure function from a group's opened
/// entries to the context that best answers a query within a token budget.
///
/// 1. BM25 candidates (at most 200) among entries that stand: retracted, superseded,
///    expired and out-of-window entries are dropped (cut-off entries were never stored).
/// 2. Ranked by reciprocal rank fusion (k = 60) of three orders: BM25 score, recency
///    (receive order) and thread links (listed replies).
/// 3. Diversity by maximal marginal relevance (λ = 0.7, Jaccard similarity of terms).
/// 4. Packed greedily under the budget; each match brings its thread parent and its best
///    reply when they stand and fit. Every line cites its entry id.
public enum ContextCompiler {
    public static let maxCandidates = 200
    public static let maxBudgetTokens = 200_000
    static let fusionK = 60.0
    static let lambda = 0.7
    /// Longest text of one piece, in characters (a longer entry is cut with "…").
    static let maxPieceCharacters = 2_000
    /// Terms of each candidate compared for diversity (a bound: entries may be 64 KiB).
    static let maxDiversityTerms = 256

    public static func compile(_ query: ContextQuery, log: GroupLog, index: BM25Index) -> CompiledContext {
        let budget = max(0, min(query.budgetTokens, maxBudgetTokens))
        let stands: (GroupItem) -> Bool = { item in
            log.isListed(item, nowMs: query.nowMs) && (query.sinceMs.map { item.timeMs >= $0 } ?? true)
        }
        let hits = index.search(query.text, limit: maxCandidates) { id in log[id].map(stands) ?? false }
        let candidates = hits.compactMap { hit in log[hit.id].map { (item: $0, bm25: hit.score) } }

        // 2. Fusion of three rankings.
        var fused: [EntryID: Double] = [:]
        func addRanking(_ ordered: [GroupItem]) {
            for (rank, item) in ordered.enumerated() { fused[item.id, default: 0] += 1 / (fusionK + Double(rank + 1)) }
        }
        addRanking(candidates.map(\.item))
        addRanking(candidates.map(\.item).sorted { $0.cursor > $1.cursor })
        let links = Dictionary(uniqueKeysWithValues: candidates.map { candidate in
            (candidate.item.id, log.replies(to: candidate.item.id).filter(stands).count)
        })
        addRanking(candidates.enumerated().sorted { a, b in
            let (la, lb) = (links[a.element.item.id] ?? 0, links[b.element.item.id] ?? 0)
            return la != lb ? la > lb : a.offset < b.offset
        }.map(\.element.item))

        // 3. Diversity.
        // Terms as sorted small integers, so similarity is a merge rather than string hashing.
        var vocabulary: [String: Int32] = [:]
        let terms: [EntryID: [Int32]] = Dictionary(uniqueKeysWithValues: candidates.map { candidate in
            let numbers = Set(SearchTerms.of(text(of: candidate.item)).prefix(maxDiversityTerms).map { term in
                if let number = vocabulary[term] { return number }
                let number = Int32(vocabulary.count)
                vocabulary[term] = number
                return number
            })
            return (candidate.item.id, numbers.sorted())
        })
        let best = fused.values.max() ?? 1
        var remaining = candidates.map(\.item)
        // The highest similarity of each remaining candidate to any selected one, kept up to
        // date as each is selected (quadratic in the candidates, not cubic).
        var similarity = [Double](repeating: 0, count: remaining.count)
        var selected: [GroupItem] = []
        while !remaining.isEmpty {
            var choice = 0
            var choiceValue = -Double.infinity
            for (offset, item) in remaining.enumerated() {
                let value = lambda * (fused[item.id] ?? 0) / best - (1 - lambda) * similarity[offset]
                if value > choiceValue { (choice, choiceValue) = (offset, value) }
            }
            let chosen = remaining.remove(at: choice)
            similarity.remove(at: choice)
            let chosenTerms = terms[chosen.id] ?? []
            for (offset, item) in remaining.enumerated() {
                similarity[offset] = max(similarity[offset], jaccard(terms[item.id] ?? [], chosenTerms))
            }
            selected.append(chosen)
        }

        // 4. Packing with thread expansion.
        var pieces: [ContextPiece] = []
        var included: Set<EntryID> = []
        var used = 0
        var omitted = 0
        for item in selected {
            guard !included.contains(item.id) else { continue }
            let match = piece(item, .match, score: fused[item.id] ?? 0)
            guard used + match.tokens <= budget else {
                omitted += 1
                continue
            }
            var group: [ContextPiece] = []
            if let parent = item.parent.flatMap({ log[$0] }), stands(parent), !included.contains(parent.id) {
                let parentPiece = piece(parent, .parent, score: 0)
                if used + match.tokens + parentPiece.tokens <= budget { group.append(parentPiece) }
            }
            group.append(match)
            let replies = log.replies(to: item.id).filter { stands($0) && !included.contains($0.id) }
            if let reply = replies.max(by: { (fused[$0.id] ?? 0, $0.cursor) < (fused[$1.id] ?? 0, $1.cursor) }) {
                let replyPiece = piece(reply, .reply, score: 0)
                if used + group.reduce(0) { $0 + $1.tokens } + replyPiece.tokens <= budget { group.append(replyPiece) }
            }
            for piece in group {
                pieces.append(piece)
                included.insert(piece.item.id)
                used += piece.tokens
            }
        }
        return CompiledContext(pieces: pieces, tokens: used, budgetTokens: budget, candidates: candidates.count, omitted: omitted)
    }

    /// The text an entry contributes: its content's strings, in key order.
    public static func text(of item: GroupItem) -> String {
        // A market entry's strings are keys, hashes and sealed goods, but an offer's words.
        if MarketEntryType.types.contains(item.inner.type) {
            return item.inner.type == MarketEntryType.offer ? MarketOffer.searchText(of: item) : ""
        }
        return item.inner.content.strings().joined(separator: " ")
    }

    /// What an entry is indexed by: type, tags and content strings.
    public static func searchText(of item: GroupItem) -> String {
        ([item.inner.type] + item.inner.tags + [text(of: item)]).joined(separator: " ")
    }

    /// Estimated tokens of a line: UTF-8 bytes / 4, rounded up.
    public static func tokens(_ line: String) -> Int {
        (line.utf8.count + 3) / 4
    }

    static func piece(_ item: GroupItem, _ reason: ContextPiece.Reason, score: Double) -> ContextPiece {
        var body = text(of: item)
        if body.count > maxPieceCharacters { body = String(body.prefix(maxPieceCharacters)) + "…" }
        let tags = item.inner.tags.isEmpty ? "" : " #" + item.inner.tags.joined(separator: " #")
        let marker = switch reason {
        case .match: ""
        case .parent: "(parent) "
        case .reply: "(reply) "
        }
        let line = "[\(item.id.hex.prefix(12))] \(marker)\(item.inner.type) by \(item.author.short)\(tags): \(body)"
        return ContextPiece(item: item, reason: reason, line: line, tokens: tokens(line), score: score)
    }

    /// Jaccard similarity of two sorted, duplicate-free term lists.
    static func jaccard(_ a: [Int32], _ b: [Int32]) -> Double {
        guard !a.isEmpty || !b.isEmpty else { return 0 }
        var (i, j, shared) = (0, 0, 0)
        while i < a.count, j < b.count {
            if a[i] == b[j] {
                shared += 1
                i += 1
                j += 1
            } else if a[i] < b[j] {
                i += 1
            } else {
                j += 1
            }
        }
        return Double(shared) / Double(a.count + b.count - shared)
    }
}
