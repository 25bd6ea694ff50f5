import Foundation

/// The JSON form of a stored entry, as the HTTP API, the CLI's `--json` and MCP show it.
/// `content` holds the parsed JSON object; content that is not JSON (an encrypted group
/// envelope) is given as `content_base64` instead. `cursor` is this node's local receive
/// order, the value to pass as `since`/`before` when paging.
public struct EntryView: Codable, Sendable, Equatable {
    public var id: EntryID
    public var author: AgentID
    public var seq: UInt64
    public var prev: EntryID?
    public var timeMs: Int64
    public var type: String
    public var topic: String
    public var tags: [String]
    public var refs: [EntryID]
    public var content: JSONValue?
    public var contentBase64: String?
    public var expiresMs: UInt64?
    /// Hex of the Ed25519 signature.
    public var signature: String
    /// Local receive order on this node.
    public var cursor: Int64
    /// False while a predecessor of this entry is still missing on this node.
    public var linked: Bool
    /// When this node stored it (ms since the epoch, this node's clock).
    public var receivedMs: Int64
    /// For an opened group entry: the group. Its `type`, `tags`, `refs` and `content` are
    /// then what the envelope sealed (PROTOCOL.md §13.4).
    public var group: EntryID?
    /// For an opened group entry: the entries of its author it replaces (PROTOCOL.md §13.8).
    public var supersedes: [EntryID]?
    /// For an opened group entry its author replaced: the newest replacement.
    public var supersededBy: EntryID?
    /// For an opened group entry its author retracted: the retraction.
    public var retractedBy: EntryID?

    enum CodingKeys: String, CodingKey {
        case id, author, seq, prev, timeMs = "time_ms", type, topic, tags, refs, content
        case contentBase64 = "content_base64", expiresMs = "expires_ms", signature, cursor, linked
        case receivedMs = "received_ms", group, supersedes
        case supersededBy = "superseded_by", retractedBy = "retracted_by"
    }

    public init(_ entry: SignedEntry, cursor: Int64, linked: Bool, receivedMs: Int64) {
        self.id = entry.id
        self.author = entry.author
        self.seq = entry.seq
        self.prev = entry.prev
        self.timeMs = entry.timeMs
        self.type = entry.type
        self.topic = entry.topic
        self.tags = entry.tags
        self.refs = entry.refs
        if let json = entry.contentJSON {
            self.content = json
        } else {
            self.contentBase64 = entry.content.base64EncodedString()
        }
        self.expiresMs = entry.expiresMs
        self.signature = Hex.encode(entry.signature)
        self.cursor = cursor
        self.linked = linked
        self.receivedMs = receivedMs
    }
}
