import Foundation

/// The body of `POST /v1/entries`: an entry signed elsewhere (by another local agent, or
/// copied from another node), as base64 of the protobuf `Entry` bytes.
public struct SubmitEntryRequest: Codable, Sendable, Equatable {
    public var entry: String

    public init(entry: Data) {
        self.entry = entry.base64EncodedString()
    }
}

/// The answer to `POST /v1/entries`: the entry as stored and whether it was new.
public struct SubmitEntryResult: Codable, Sendable, Equatable {
    public var entry: EntryView
    /// False when the node already held this entry.
    public var created: Bool

    public init(entry: EntryView, created: Bool) {
        self.entry = entry
        self.created = created
    }
}

/// A proven fork as the API shows it: both conflicting entries, as base64 protobuf
/// `Entry` bytes, so anyone can check the two signatures themselves.
public struct ForkView: Codable, Sendable, Equatable {
    public var author: AgentID
    public var seq: UInt64
    public var heldID: EntryID
    public var conflictingID: EntryID
    public var heldEntry: String
    public var conflictingEntry: String
    public var detectedMs: Int64

    public init(
        author: AgentID, seq: UInt64, heldID: EntryID, conflictingID: EntryID, heldEntry: Data, conflictingEntry: Data,
        detectedMs: Int64
    ) {
        self.author = author
        self.seq = seq
        self.heldID = heldID
        self.conflictingID = conflictingID
        self.heldEntry = heldEntry.base64EncodedString()
        self.conflictingEntry = conflictingEntry.base64EncodedString()
        self.detectedMs = detectedMs
    }

    enum CodingKeys: String, CodingKey {
        case author, seq, heldID = "held_id", conflictingID = "conflicting_id", heldEntry = "held_entry"
        case conflictingEntry = "conflicting_entry", detectedMs = "detected_ms"
    }
}
