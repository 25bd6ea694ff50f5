import Foundation
import PlexusCore

/// Splits text into search terms: lowercased runs of letters and digits, at least two
/// characters, common English function words left out, a plural `s` taken off.
public enum SearchTerms {
    static let stopwords: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "is", "it", "its", "of", "on", "or",
        "that", "the", "this", "to", "was", "were", "will", "with",
    ]

    /// Runs over Unicode scalars (ASCII without a table lookup): this is on the path of
    /// every group entry a node opens.
    public static func of(_ text: String) -> [String] {
        var terms: [String] = []
        var current = String.UnicodeScalarView()
        var length = 0
        func flush() {
            defer {
                current = String.UnicodeScalarView()
                length = 0
            }
            guard length >= 2 else { return }
            var term = String(current)
            guard !stopwords.contains(term) else { return }
            if length > 3, term.hasSuffix("s"), !term.hasSuffix("ss") { term.removeLast() }
            terms.append(term)
        }
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x80 {
                switch value {
                case 0x61...0x7A, 0x30...0x39:
                    current.append(scalar)
                    length += 1
                case 0x41...0x5A:
                    current.append(Unicode.Scalar(UInt8(value + 0x20)))
                    length += 1
                default:
                    flush()
                }
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                current.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                length += 1
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
        // Dense scores (no hashing per posting); `touched` lists the documents that match.
        var scores = [Double](repeating: 0, count: ids.count)
        var touched: [Int32] = []
        for term in Set(SearchTerms.of(query)) {
            guard let list = postings[term] else { continue }
            let frequency = Double(list.count)
            let idf = log(1 + (documents - frequency + 0.5) / (frequency + 0.5))
            for (slot, count) in list {
                let tf = Double(count)
                let norm = tf + Self.k1 * (1 - Self.b + Self.b * Double(lengths[Int(slot)]) / averageLength)
                if scores[Int(slot)] == 0 { touched.append(slot) }
                scores[Int(slot)] += idf * tf * (Self.k1 + 1) / norm
            }
        }
        // Best first, so `include` is asked only until the page is full: a heap over the
        // matches (built in linear time) gives them in order without sorting them all.
        let better: (Int32, Int32) -> Bool = { a, b in
            let (sa, sb) = (scores[Int(a)], scores[Int(b)])
            return sa != sb ? sa > sb : ids[Int(a)].bytes.lexicographicallyPrecedes(ids[Int(b)].bytes)
        }
        var heap = SlotHeap(touched, by: better)
        var hits: [(id: EntryID, score: Double)] = []
        while hits.count < limit, let slot = heap.popFirst() {
            let id = ids[Int(slot)]
            guard include(id) else { continue }
            hits.append((id, scores[Int(slot)]))
        }
        return hits
    }
}

/// A binary heap of document slots, the first by `precedes` on top.
private struct SlotHeap {
    private var items: [Int32]
    private let precedes: (Int32, Int32) -> Bool

    init(_ items: [Int32], by precedes: @escaping (Int32, Int32) -> Bool) {
        self.items = items
        self.precedes = precedes
        for index in stride(from: items.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }

    mutating func popFirst() -> Int32? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            siftDown(0)
        }
        return first
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < items.count else { return }
            var child = left
            if left + 1 < items.count, precedes(items[left + 1], items[left]) { child = left + 1 }
            guard precedes(items[child], items[parent]) else { return }
            items.swapAt(child, parent)
            parent = child
        }
    }
}
