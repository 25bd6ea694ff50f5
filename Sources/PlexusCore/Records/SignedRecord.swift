import Foundation
import SwiftProtobuf

/// Signed soft state (DESIGN §1, PROTOCOL.md §9): a record its author replaces instead of
/// appending, such as an agent's directory record. The newest per author, kind and scope
/// wins and it lapses at `expiresMs`. It takes no seq and is never in a feed, so it reaches
/// no search index, event stream, hook or webhook. Values of this type exist only for
/// records whose size, fields and signature have been checked.
public struct SignedRecord: Sendable, Hashable {
    /// What a record is about; one record per author and kind (and scope) is current.
    public enum Kind: String, Sendable, Hashable {
        /// An agent's directory record (`AgentRecord` JSON).
        case agent
        /// A group invitation sealed to the agent named by the scope (PROTOCOL.md §13.7).
        case groupWelcome = "group.welcome"
        /// A member's presence in the group named by the scope, sealed under the group's
        /// epoch key (PROTOCOL.md §13.10).
        case groupPresence = "group.presence"
    }

    /// The exact serialised `SoftRecordBody` the author signed.
    public let body: Data
    /// Ed25519(author, "plexus/record/v1" ‖ body).
    public let signature: Data
    /// SHA-256(body): names this version of the record.
    public let id: EntryID
    public let author: AgentID
    public let kind: Kind
    /// "" for the whole mesh.
    public let scope: String
    public let timeMs: Int64
    public let expiresMs: Int64
    public let content: Data

    /// Largest encoded record accepted.
    public static let maxBytes = 16 * 1024
    /// Longest a record may live past its signing time.
    public static let maxLifetimeMs: Int64 = 3 * 86_400_000
    /// How far ahead of this node's clock a signing time may be (clock skew).
    public static let maxClockSkewMs: Int64 = 10 * 60_000

    /// Decodes a serialised protobuf `SoftRecord` and verifies it. Records of kinds this
    /// node does not know are refused (`malformedEntry`): it could not check them.
    public init(encoded: Data) throws(PlexusError) {
        guard encoded.count <= Self.maxBytes else {
            throw PlexusError(.tooLarge, "record of \(encoded.count) bytes exceeds the \(Self.maxBytes)-byte limit")
        }
        let wire: Plexus_SoftRecord
        do {
            wire = try Plexus_SoftRecord(serializedBytes: encoded)
        } catch {
            throw PlexusError(.malformedEntry, "record is not a valid protobuf SoftRecord")
        }
        try self.init(wire: wire)
    }

    /// Verifies a record as it arrived inside another message.
    public init(wire: Plexus_SoftRecord) throws(PlexusError) {
        guard wire.body.count + wire.signature.count <= Self.maxBytes else {
            throw PlexusError(.tooLarge, "record of \(wire.body.count) bytes exceeds the \(Self.maxBytes)-byte limit")
        }
        let fields: Plexus_SoftRecordBody
        do {
            fields = try Plexus_SoftRecordBody(serializedBytes: wire.body)
        } catch {
            throw PlexusError(.malformedEntry, "record body is not a valid protobuf SoftRecordBody")
        }
        guard let author = AgentID(bytes: fields.author) else {
            throw PlexusError(.malformedEntry, "record author must be a 32-byte Ed25519 key")
        }
        guard let kind = Kind(rawValue: fields.kind) else {
            throw PlexusError(.malformedEntry, "record kind '\(fields.kind.prefix(32))' is not known")
        }
        guard fields.scope.utf8.count <= TopicName.maxBytes else {
            throw PlexusError(.tooLarge, "record scope is longer than \(TopicName.maxBytes) bytes")
        }
        let expires = Int64(clamping: fields.expiresMs)
        let lifetime = expires.subtractingReportingOverflow(fields.timeMs)
        guard expires > fields.timeMs, !lifetime.overflow, lifetime.partialValue <= Self.maxLifetimeMs else {
            throw PlexusError(.malformedEntry, "a record lives after its signing time and at most \(Self.maxLifetimeMs / 3_600_000) hours")
        }
        guard wire.signature.count == 64, author.verify(signature: wire.signature, domain: .record, wire.body) else {
            throw PlexusError(.badSignature, "record signature does not verify for author \(author.short)")
        }
        self.init(body: wire.body, signature: wire.signature, author: author, kind: kind, fields: fields)
    }

    /// Signs a record as `key`.
    public init(
        signing content: Data, kind: Kind, scope: String = "", timeMs: Int64, expiresMs: Int64, with key: AgentKey
    ) throws(PlexusError) {
        guard expiresMs > timeMs, expiresMs - timeMs <= Self.maxLifetimeMs else {
            throw PlexusError(.invalidArgument, "a record lives after its signing time and at most \(Self.maxLifetimeMs / 3_600_000) hours")
        }
        var fields = Plexus_SoftRecordBody()
        fields.author = key.id.bytes.asData
        fields.kind = kind.rawValue
        fields.scope = scope
        fields.timeMs = timeMs
        fields.expiresMs = UInt64(expiresMs)
        fields.content = content
        let body: Data
        do {
            body = try fields.serializedBytes()
        } catch {
            throw PlexusError(.internal, "could not serialise a record body: \(error)")
        }
        guard body.count + 80 <= Self.maxBytes else {
            throw PlexusError(.tooLarge, "record of \(body.count) bytes exceeds the \(Self.maxBytes)-byte limit")
        }
        self.init(body: body, signature: key.sign(domain: .record, body), author: key.id, kind: kind, fields: fields)
    }

    private init(body: Data, signature: Data, author: AgentID, kind: Kind, fields: Plexus_SoftRecordBody) {
        self.body = body
        self.signature = signature
        self.id = EntryID(hashing: body)
        self.author = author
        self.kind = kind
        self.scope = fields.scope
        self.timeMs = fields.timeMs
        self.expiresMs = Int64(clamping: fields.expiresMs)
        self.content = fields.content
    }

    /// The record as a protobuf message (exact body bytes and signature).
    public var wire: Plexus_SoftRecord {
        var wire = Plexus_SoftRecord()
        wire.body = body
        wire.signature = signature
        return wire
    }

    /// The serialised protobuf `SoftRecord`, as the DHT keeps it.
    public func encoded() -> Data {
        // Serialising two bytes fields cannot fail.
        try! wire.serializedBytes()
    }

    /// Whether this record replaces `other` (same slot, signed later; ties broken by id so
    /// every node picks the same one).
    public func supersedes(_ other: SignedRecord) -> Bool {
        if timeMs != other.timeMs { return timeMs > other.timeMs }
        return other.id.bytes.lexicographicallyPrecedes(id.bytes)
    }

    /// Where a record is current: one per author, kind and scope.
    public struct Slot: Sendable, Hashable {
        public let author: AgentID
        public let kind: Kind
        public let scope: String

        public init(author: AgentID, kind: Kind, scope: String = "") {
            self.author = author
            self.kind = kind
            self.scope = scope
        }
    }

    public var slot: Slot { Slot(author: author, kind: kind, scope: scope) }

    public static func == (lhs: SignedRecord, rhs: SignedRecord) -> Bool { lhs.id == rhs.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}
