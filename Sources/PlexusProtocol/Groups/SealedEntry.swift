import Crypto
import Foundation
import PlexusCore

/// What a member's group entry says once opened (PROTOCOL.md §13.4): the type, tags, refs,
/// the entries it replaces and the JSON content its envelope hides.
public struct GroupInner: Sendable, Equatable {
    public var type: String
    public var tags: [String]
    /// The first ref is the entry's parent in a thread (§13.8).
    public var refs: [EntryID]
    /// Entries of the same author this one replaces; a `retract` entry replaces them with
    /// nothing (§13.8).
    public var supersedes: [EntryID]
    public var content: JSONValue

    /// Most entries one entry may supersede.
    public static let maxSupersedes = 16

    public init(type: String, tags: [String] = [], refs: [EntryID] = [], supersedes: [EntryID] = [], content: JSONValue) {
        self.type = type
        self.tags = tags
        self.refs = refs
        self.supersedes = supersedes
        self.content = content
    }

    /// The inner body as the envelope seals it; refuses a draft that would not be a valid
    /// entry (the limits of PROTOCOL.md §2.2 apply inside too).
    public func serialized() throws(PlexusError) -> Data {
        guard case .object = content else {
            throw PlexusError(.invalidContent, "content must be a JSON object (e.g. {\"text\": \"...\"}), not \(content.kindName)")
        }
        guard !type.isEmpty, type.utf8.count <= 64 else { throw PlexusError(.invalidArgument, "entry type must be 1–64 bytes") }
        guard tags.count <= 32, tags.allSatisfy({ $0.utf8.count <= 64 }) else {
            throw PlexusError(.tooLarge, "at most 32 tags of at most 64 bytes each")
        }
        guard refs.count <= 64 else { throw PlexusError(.tooLarge, "at most 64 refs") }
        guard supersedes.count <= Self.maxSupersedes else {
            throw PlexusError(.tooLarge, "an entry supersedes at most \(Self.maxSupersedes) entries")
        }
        var inner = Plexus_GroupInner()
        inner.type = type
        inner.tags = tags
        inner.refs = refs.map { $0.bytes.asData }
        inner.supersedes = supersedes.map { $0.bytes.asData }
        inner.content = content.canonicalData()
        do {
            return try inner.serializedBytes()
        } catch {
            throw PlexusError(.internal, "could not serialise a group entry: \(error)")
        }
    }

    /// Parses an opened inner body; `malformedEnvelope` when it is not one.
    public init(serialized data: Data) throws(PlexusError) {
        guard let inner = try? Plexus_GroupInner(serializedBytes: data),
              inner.refs.allSatisfy({ $0.count == 32 }),
              inner.supersedes.count <= Self.maxSupersedes, inner.supersedes.allSatisfy({ $0.count == 32 }),
              let content = try? JSONValue(parsing: inner.content), case .object = content
        else {
            throw PlexusError(.malformedEnvelope, "the opened group entry is not a GroupInner with a JSON object")
        }
        self.init(
            type: inner.type, tags: inner.tags, refs: inner.refs.compactMap { EntryID(bytes: $0) },
            supersedes: inner.supersedes.compactMap { EntryID(bytes: $0) }, content: content)
    }
}

/// The envelope of a member's group entry (PROTOCOL.md §13.4): builds the content of a
/// `group.sealed` entry and opens it. Presence (§13.10) uses the same envelope with its own
/// label and the record's time as `seq`.
public enum SealedEntry {
    /// The `GroupEnvelope` content for `author`'s entry `seq` in `group` under `epoch`.
    public static func seal(
        _ inner: Data, group: EntryID, epoch: EntryID, epochKey: SymmetricKey, author: AgentID, seq: UInt64,
        salt: Data = Data(RandomBytes.take(GroupEnvelopeCipher.saltBytes)),
        label: String = GroupEnvelopeCipher.entryLabel
    ) throws(PlexusError) -> Data {
        var envelope = Plexus_GroupEnvelope()
        envelope.epoch = epoch.bytes.asData
        envelope.salt = salt
        envelope.ciphertext = try GroupEnvelopeCipher.seal(
            inner, epochKey: epochKey, epoch: epoch, group: group, author: author, seq: seq, salt: salt, label: label)
        do {
            return try envelope.serializedBytes()
        } catch {
            throw PlexusError(.internal, "could not serialise a group envelope: \(error)")
        }
    }

    /// The epoch a sealed entry names, or `malformedEnvelope`.
    public static func epoch(of entry: SignedEntry) throws(PlexusError) -> EntryID {
        try envelope(of: entry).epoch
    }

    /// Opens a `group.sealed` entry of `group` with `epochKey`.
    public static func open(_ entry: SignedEntry, group: EntryID, epochKey: SymmetricKey) throws(PlexusError) -> GroupInner {
        let (epoch, envelope) = try envelope(of: entry)
        let inner = try GroupEnvelopeCipher.open(
            envelope.ciphertext, epochKey: epochKey, epoch: epoch, group: group, author: entry.author, seq: entry.seq,
            salt: envelope.salt)
        return try GroupInner(serialized: inner)
    }

    /// Opens envelope bytes sealed with `label` by `author` at `seq`, with the key of the
    /// epoch they name (`epochKey` answers nil when this node does not hold it).
    public static func open(
        content: Data, group: EntryID, author: AgentID, seq: UInt64, label: String,
        epochKey: (EntryID) -> SymmetricKey?
    ) throws(PlexusError) -> Data {
        guard let (epoch, envelope) = parse(content) else {
            throw PlexusError(.malformedEnvelope, "not a group envelope (epoch, 16-byte salt, ciphertext)")
        }
        guard let key = epochKey(epoch) else {
            throw PlexusError(.malformedEnvelope, "the envelope names epoch \(epoch.hex.prefix(12)), whose key this node does not hold")
        }
        return try GroupEnvelopeCipher.open(
            envelope.ciphertext, epochKey: key, epoch: epoch, group: group, author: author, seq: seq, salt: envelope.salt, label: label)
    }

    private static func envelope(of entry: SignedEntry) throws(PlexusError) -> (epoch: EntryID, Plexus_GroupEnvelope) {
        guard entry.type == GroupEntryType.sealed, entry.fields.tags.isEmpty, entry.fields.refs.isEmpty,
              let parsed = parse(entry.content)
        else {
            throw PlexusError(.malformedEnvelope, "entry \(entry.id.hex.prefix(12)) is not a group envelope (type group.sealed, no tags or refs, epoch, 16-byte salt, ciphertext)")
        }
        return parsed
    }

    private static func parse(_ content: Data) -> (epoch: EntryID, Plexus_GroupEnvelope)? {
        guard let envelope = try? Plexus_GroupEnvelope(serializedBytes: content),
              let epoch = EntryID(bytes: envelope.epoch), envelope.salt.count == GroupEnvelopeCipher.saltBytes,
              envelope.ciphertext.count >= 16
        else { return nil }
        return (epoch, envelope)
    }
}
