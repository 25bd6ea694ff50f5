import Foundation

/// What an agent asks to publish: everything in an entry except what the node fills in
/// (author, seq, prev, time). Content must be a JSON object (DESIGN §4, issue 2).
public struct EntryDraft: Sendable, Equatable {
    public var type: String
    public var topic: String
    public var tags: [String]
    public var refs: [EntryID]
    public var content: JSONValue
    public var expiresMs: UInt64?

    public init(
        type: String = "insight", topic: String = "", tags: [String] = [], refs: [EntryID] = [],
        content: JSONValue, expiresMs: UInt64? = nil
    ) {
        self.type = type
        self.topic = topic
        self.tags = tags
        self.refs = refs
        self.content = content
        self.expiresMs = expiresMs
    }

    /// Builds the body for the author's entry `seq` after `prev`. Refuses content that
    /// is not a JSON object and an empty type.
    public func body(seq: UInt64, prev: EntryID?, timeMs: Int64) throws(PlexusError) -> Plexus_EntryBody {
        try template(timeMs: timeMs).linked(seq: seq, prev: prev)
    }

    /// Everything of the body except its place in the feed (seq 0, no prev): the part
    /// that can be built before the feed head is known.
    public func template(timeMs: Int64) throws(PlexusError) -> Plexus_EntryBody {
        guard case .object = content else {
            throw PlexusError(.invalidContent, "content must be a JSON object (e.g. {\"text\": \"...\"}), not \(content.kindName)")
        }
        guard !type.isEmpty else {
            throw PlexusError(.invalidArgument, "entry type must not be empty")
        }
        var body = Plexus_EntryBody()
        body.timeMs = timeMs
        body.type = type
        body.topic = topic
        body.tags = tags
        body.refs = refs.map { $0.bytes.asData }
        body.content = content.canonicalData()
        if let expiresMs { body.expiresMs = expiresMs }
        return body
    }
}

extension Plexus_EntryBody {
    /// This body placed at `seq` after `prev` in its author's feed.
    public func linked(seq: UInt64, prev: EntryID?) -> Plexus_EntryBody {
        var body = self
        body.seq = seq
        body.prev = prev?.bytes.asData ?? Data()
        return body
    }
}

extension JSONValue {
    /// A word for the kind of value, for error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
