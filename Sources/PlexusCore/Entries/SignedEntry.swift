import Foundation
import SwiftProtobuf

/// A verified entry (DESIGN §4): the exact signed body bytes, the signature, the id and the
/// decoded fields. Values of this type exist only for entries whose size, structure and
/// signature have been checked, so later layers never re-verify or re-serialise.
public struct SignedEntry: Sendable, Hashable {
    /// The exact serialised `EntryBody` the author signed.
    public let body: Data
    /// Ed25519(author, "plexus/entry/v1" ‖ body).
    public let signature: Data
    /// SHA-256(body).
    public let id: EntryID
    /// The decoded body. Unknown fields are kept inside it and in `body`.
    public let fields: Plexus_EntryBody
    /// The author.
    public let author: AgentID

    /// Decodes a serialised protobuf `Entry` and verifies it.
    public init(encoded: Data, limits: Limits = .standard) throws(PlexusError) {
        // The body limit plus room for the signature and protobuf framing.
        guard encoded.count <= limits.maxBodyBytes + 128 else {
            throw PlexusError(.tooLarge, "entry of \(encoded.count) bytes exceeds the \(limits.maxBodyBytes)-byte body limit")
        }
        let entry: Plexus_Entry
        do {
            entry = try Plexus_Entry(serializedBytes: encoded)
        } catch {
            throw PlexusError(.malformedEntry, "entry is not a valid protobuf Entry")
        }
        try self.init(body: entry.body, signature: entry.signature, limits: limits)
    }

    /// The id of an encoded entry (SHA-256 of its body) without verifying it, nil when
    /// the bytes are not a protobuf `Entry`. Only for recognising entries already held.
    public static func id(ofEncoded encoded: Data) -> EntryID? {
        guard let entry = try? Plexus_Entry(serializedBytes: encoded) else { return nil }
        return EntryID(hashing: entry.body)
    }

    /// Verifies a body and signature.
    public init(body: Data, signature: Data, limits: Limits = .standard) throws(PlexusError) {
        guard body.count <= limits.maxBodyBytes else {
            throw PlexusError(.tooLarge, "entry body of \(body.count) bytes exceeds the \(limits.maxBodyBytes)-byte limit")
        }
        let (fields, author) = try Self.decode(body)
        try Self.checkStructure(fields, limits: limits)
        guard signature.count == 64, author.verify(signature: signature, domain: .entry, body) else {
            throw PlexusError(.badSignature, "entry signature does not verify for author \(author.short)")
        }
        self.body = body
        self.signature = signature
        self.id = EntryID(hashing: body)
        self.fields = fields
        self.author = author
    }

    /// Signs a body on behalf of `key`. Checks the same limits as ingest, so a local
    /// publish can never produce an entry that peers would refuse.
    public init(signing fields: Plexus_EntryBody, with key: AgentKey, limits: Limits = .standard) throws(PlexusError) {
        var fields = fields
        fields.author = key.id.bytes.asData
        try Self.checkStructure(fields, limits: limits)
        let body: Data
        do {
            body = try fields.serializedBytes()
        } catch {
            throw PlexusError(.internal, "could not serialise entry body: \(error)")
        }
        guard body.count <= limits.maxBodyBytes else {
            throw PlexusError(.tooLarge, "entry body of \(body.count) bytes exceeds the \(limits.maxBodyBytes)-byte limit")
        }
        self.body = body
        self.signature = key.sign(domain: .entry, body)
        self.id = EntryID(hashing: body)
        self.fields = fields
        self.author = key.id
    }

    /// The serialised protobuf `Entry` (body and signature), as it travels between nodes.
    public func encoded() -> Data {
        var entry = Plexus_Entry()
        entry.body = body
        entry.signature = signature
        // Serialising two bytes fields cannot fail.
        return try! entry.serializedBytes()
    }

    public var seq: UInt64 { fields.seq }
    /// The previous entry's id; nil for seq 1.
    public var prev: EntryID? { EntryID(bytes: fields.prev) }
    public var type: String { fields.type }
    public var topic: String { fields.topic }
    public var tags: [String] { fields.tags }
    /// Referenced entry ids (each checked to be 32 bytes).
    public var refs: [EntryID] { fields.refs.compactMap { EntryID(bytes: $0) } }
    public var timeMs: Int64 { fields.timeMs }
    public var expiresMs: UInt64? { fields.hasExpiresMs ? fields.expiresMs : nil }
    public var content: Data { fields.content }

    /// The content parsed as JSON, or nil if it is not JSON (e.g. an encrypted envelope).
    public var contentJSON: JSONValue? { try? JSONValue(parsing: fields.content) }

    public static func == (lhs: SignedEntry, rhs: SignedEntry) -> Bool {
        lhs.id == rhs.id && lhs.signature == rhs.signature
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(id) }

    private static func checkStructure(_ fields: Plexus_EntryBody, limits: Limits) throws(PlexusError) {
        guard fields.seq >= 1 else {
            throw PlexusError(.malformedEntry, "entry seq must start at 1")
        }
        if fields.seq == 1 {
            guard fields.prev.isEmpty else {
                throw PlexusError(.malformedEntry, "entry at seq 1 must have an empty prev")
            }
        } else {
            guard fields.prev.count == 32 else {
                throw PlexusError(.malformedEntry, "entry at seq \(fields.seq) must name its 32-byte predecessor")
            }
        }
        guard fields.type.utf8.count <= limits.maxTypeBytes else {
            throw PlexusError(.tooLarge, "entry type is longer than \(limits.maxTypeBytes) bytes")
        }
        guard fields.topic.utf8.count <= limits.maxTopicBytes else {
            throw PlexusError(.tooLarge, "entry topic is longer than \(limits.maxTopicBytes) bytes")
        }
        guard fields.tags.count <= limits.maxTags else {
            throw PlexusError(.tooLarge, "entry has \(fields.tags.count) tags; at most \(limits.maxTags) are allowed")
        }
        if let tag = fields.tags.first(where: { $0.utf8.count > limits.maxTagBytes }) {
            throw PlexusError(.tooLarge, "tag '\(tag.prefix(20))…' is longer than \(limits.maxTagBytes) bytes")
        }
        guard fields.refs.count <= limits.maxRefs else {
            throw PlexusError(.tooLarge, "entry has \(fields.refs.count) refs; at most \(limits.maxRefs) are allowed")
        }
        guard fields.refs.allSatisfy({ $0.count == 32 }) else {
            throw PlexusError(.malformedEntry, "every ref must be a 32-byte entry id")
        }
    }
}

extension [UInt8] {
    /// The bytes as `Data`.
    public var asData: Data { Data(self) }
}

extension SignedEntry {
    /// Rebuilds an entry from bytes this node verified earlier (its own store). Decodes the
    /// body but does not re-check the signature; never use it for bytes from outside.
    public init(verifiedBody body: Data, signature: Data) throws(PlexusError) {
        let (fields, author) = try Self.decode(body)
        self.init(body: body, signature: signature, id: EntryID(hashing: body), fields: fields, author: author)
    }

    private init(body: Data, signature: Data, id: EntryID, fields: Plexus_EntryBody, author: AgentID) {
        self.body = body
        self.signature = signature
        self.id = id
        self.fields = fields
        self.author = author
    }

    /// Decodes body bytes and their author.
    private static func decode(_ body: Data) throws(PlexusError) -> (Plexus_EntryBody, AgentID) {
        let fields: Plexus_EntryBody
        do {
            fields = try Plexus_EntryBody(serializedBytes: body)
        } catch {
            throw PlexusError(.malformedEntry, "entry body is not a valid protobuf EntryBody")
        }
        guard let author = AgentID(bytes: fields.author) else {
            throw PlexusError(.malformedEntry, "entry author must be a 32-byte Ed25519 key, got \(fields.author.count) bytes")
        }
        return (fields, author)
    }
}
