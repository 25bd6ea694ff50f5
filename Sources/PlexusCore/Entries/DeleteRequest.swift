import Foundation

/// An author's signed request to delete entries of its own feed (PROTOCOL.md §2.6): an
/// entry of type `delete` in the topic of the entries it deletes, whose `refs` name them and
/// whose content carries a stub of each (`{"deleted": [{"id", "seq", "prev"}]}`).
///
/// A node that honours it drops the content of each named entry *of the same author* and
/// keeps the stub as a tombstone, so the chain stays verifiable (entry `seq+1` names the
/// stub's id as its prev) and no peer sends the entry again. Stubs naming another author's
/// entries change nothing.
public struct DeleteRequest: Sendable, Equatable {
    /// The entry type of a delete request.
    public static let type = "delete"
    /// Most entries one request deletes (the `refs` limit of an entry).
    public static let maxEntries = 64

    /// What stays of a deleted entry: its place in the author's chain.
    public struct Stub: Sendable, Equatable {
        public var id: EntryID
        public var seq: UInt64
        public var prev: EntryID?

        public init(id: EntryID, seq: UInt64, prev: EntryID?) {
            self.id = id
            self.seq = seq
            self.prev = prev
        }
    }

    /// The topic of the deleted entries (and of the request).
    public var topic: String
    public var stubs: [Stub]

    public init(topic: String, stubs: [Stub]) {
        self.topic = topic
        self.stubs = stubs
    }

    /// The request as an entry to publish.
    public var draft: EntryDraft {
        let stubs: [JSONValue] = stubs.map { stub in
            var fields: [String: JSONValue] = ["id": .string(stub.id.hex), "seq": .integer(Int64(clamping: stub.seq))]
            if let prev = stub.prev { fields["prev"] = .string(prev.hex) }
            return .object(fields)
        }
        return EntryDraft(type: Self.type, topic: topic, refs: self.stubs.map(\.id), content: .object(["deleted": .array(stubs)]))
    }

    /// Reads the request an entry carries: nil unless it is of type `delete`. Only stubs
    /// whose id the entry also names in `refs`, with a seq below the request's own, count;
    /// content that does not parse carries none.
    public init?(_ entry: SignedEntry) {
        guard entry.type == Self.type else { return nil }
        let named = Set(entry.refs)
        var stubs: [Stub] = []
        if case .object(let content)? = entry.contentJSON, case .array(let items)? = content["deleted"] {
            for item in items.prefix(Self.maxEntries) {
                guard case .object(let fields) = item,
                      case .string(let idText)? = fields["id"], let id = EntryID(idText), named.contains(id),
                      case .integer(let seq)? = fields["seq"], seq >= 1, UInt64(seq) < entry.seq
                else { continue }
                var prev: EntryID?
                if case .string(let prevText)? = fields["prev"] { prev = EntryID(prevText) }
                guard (seq == 1) == (prev == nil) else { continue }
                stubs.append(Stub(id: id, seq: UInt64(seq), prev: prev))
            }
        }
        self.init(topic: entry.topic, stubs: stubs)
    }
}
