import Foundation
import PlexusCore

/// Splits text into search terms: lowercased runs of letters and digits, at least two
/// characters, common English function words left out, a plural `s` taken off.
public enum SearchTerms {
    static let stopwords: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "is", "it", "its", "of", "on", "or",
        "that", "the", "this", "to", "was", "were", "will", "with",
    ]

    public static func of(_ text: String) -> [String] {
        var terms: [String] = []
        var current = ""
        func flush() {
            defer { current = "" }
            guard current.count >= 2, !stopwords.contains(current) else { return }
            if current.count > 3, current.hasSuffix("s"), !current.hasSuffix("ss") { current.removeLast() }
            terms.append(current)
        }
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else {
                flush()
            }
        }
        flush()
        return terms
    }
}

/// An in-memory Okapi BM25 index (k1 = 1.2, b = 0.75) over documents named by entry id.
/// Group content is never indexed on disk (PROTOCOL.md §13.8); this index is rebuilt from
/// the opened entries when a node starts. Scores are higher for better matches.
public struct BM25Index: Sendable {
    static let k1 = 1.2
    static let b = 0.75

    private var ids: [EntryID] = []
    private var lengths: [Int32] = []
    private var slots: [EntryID: Int32] = [:]
    /// Term → (document slot, term frequency), in insertion order.
    private var postings: [String: [(slot: Int32, frequency: Int32)]] = [:]
    private var totalLength = 0

    public init() {}

    public var count: Int { ids.count }

    /// Indexes a document; a second add of the same id is ignored.
    public mutating func add(_ id: EntryID, text: String) {
        guard slots[id] == nil else { return }
        let slot = Int32(ids.count)
        let terms = SearchTerms.of(text)
        ids.append(id)
        lengths.append(Int32(clamping: terms.count))
        slots[id] = slot
        totalLength += terms.count
        var frequencies: [String: Int32] = [:]
        for term in terms { frequencies[term, default: 0] += 1 }
        for (term, frequency) in frequencies { postings[term, default: []].append((slot, frequency)) }
    }

    /// The best `limit` documents for `query` that `include` accepts, best first (ties by
    /// id, so the order is deterministic).
    public func search(_ query: String, limit: Int, include: (EntryID) -> Bool = { _ in true }) -> [(id: EntryID, score: Double)] {
        guard !ids.isEmpty, limit > 0 else { return [] }
        let documents = Double(ids.count)
        let averageLength = max(Double(totalLength) / documents, 1)
        var scores: [Int32: Double] = [:]
        for term in Set(SearchTerms.of(query)) {
            guard let list = postings[term] else { continue }
            let frequency = Double(list.count)
            let idf = log(1 + (documents - frequency + 0.5) / (frequency + 0.5))
            for (slot, count) in list {
                let tf = Double(count)
                let norm = tf + Self.k1 * (1 - Self.b + Self.b * Double(lengths[Int(slot)]) / averageLength)
                scores[slot, default: 0] += idf * tf * (Self.k1 + 1) / norm
            }
        }
        var hits: [(id: EntryID, score: Double)] = []
        hits.reserveCapacity(min(scores.count, 4 * limit))
        for (slot, score) in scores {
            let id = ids[Int(slot)]
            if include(id) { hits.append((id, score)) }
        }
        hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.id.bytes.lexicographicallyPrecedes($1.id.bytes) }
        return Array(hits.prefix(limit))
    }
}
