import Foundation
import PlexusCore

/// The entry types of a group's topic (PROTOCOL.md §13.2, §13.4).
public enum GroupEntryType {
    public static let create = "group.create"
    public static let add = "group.add"
    public static let remove = "group.remove"
    public static let role = "group.role"
    public static let rekey = "group.rekey"
    /// The owner's change of the token policy (PROTOCOL.md §14.1).
    public static let policy = "group.policy"
    /// A member's sealed entry.
    public static let sealed = "group.sealed"

    public static let control: Set<String> = [create, add, remove, role, rekey, policy]

    /// Group topics are `group/` and 32 hex digits.
    public static let topicPrefix = "group/"

    public static func isGroupTopic(_ topic: String) -> Bool {
        topic.hasPrefix(topicPrefix)
    }
}

/// A group control entry, checked and decoded (PROTOCOL.md §13.2): what the roster fold
/// needs (`control`) and the key material it carries.
public struct ControlEntry: Sendable {
    public let entry: SignedEntry
    /// The group it belongs to (its own id for `group.create`).
    public let group: EntryID
    public let control: GroupControl
    /// The creator's (create) or the new member's (add) X25519 key, verified.
    public let exchangeKey: ExchangeKeyBinding?
    /// A new epoch's sealed keys and wrapped predecessors (create, rekey, rekeying remove),
    /// or more seals of an earlier epoch's key (a continuation).
    public let epochKeys: Plexus_EpochKeys?
    /// Epoch keys sealed to an added member.
    public let shares: [Plexus_EpochShare]

    /// Decodes `entry`; `malformedEnvelope` when it is not a well-formed control entry.
    public init(_ entry: SignedEntry) throws(PlexusError) {
        guard GroupEntryType.control.contains(entry.type), GroupEntryType.isGroupTopic(entry.topic) else {
            throw Self.malformed(entry, "is not a control entry of a group topic")
        }
        let message: Plexus_GroupControl
        do {
            message = try Plexus_GroupControl(serializedBytes: entry.content)
        } catch {
            throw Self.malformed(entry, "does not carry a protobuf GroupControl")
        }
        guard entry.fields.refs.count == entry.refs.count else { throw Self.malformed(entry, "has a parent that is not 32 bytes") }
        let parents = entry.refs
        var exchangeKey: ExchangeKeyBinding?
        var epochKeys: Plexus_EpochKeys?
        var shares: [Plexus_EpochShare] = []
        let action: GroupControl.Action
        var policy: LedgerPolicy?
        switch (message.action, entry.type) {
        case (.create(let create)?, GroupEntryType.create):
            guard message.group.isEmpty, parents.isEmpty else { throw Self.malformed(entry, "(a create) names a group or parents") }
            guard create.name.utf8.count <= 128, !create.name.isEmpty else { throw Self.malformed(entry, "has a name that is empty or over 128 bytes") }
            exchangeKey = try Self.binding(create.creatorKey, of: entry.author, in: entry)
            epochKeys = try Self.checked(create.epoch, in: entry)
            if create.hasPolicy { policy = try Self.policy(create.policy, treasury: entry.author, in: entry) }
            action = .create(name: create.name)
        case (.policy(let wire)?, GroupEntryType.policy):
            guard wire.treasury.count == 32 else { throw Self.malformed(entry, "names no treasury (a 32-byte agent id)") }
            action = .setPolicy(try Self.policy(wire, treasury: entry.author, in: entry))
        case (.add(let add)?, GroupEntryType.add):
            let member = try Self.agent(add.member, in: entry)
            let role = try Self.role(add.role, in: entry)
            exchangeKey = try Self.binding(add.memberKey, of: member, in: entry)
            for share in add.shares {
                guard EntryID(bytes: share.epoch) != nil else { throw Self.malformed(entry, "shares an epoch whose id is not 32 bytes") }
                try Self.checkSealed(share.sealed, in: entry)
            }
            shares = add.shares
            action = .add(member: member, role: role, fromSeq: add.fromSeq, shares: add.shares.compactMap { EntryID(bytes: $0.epoch) })
        case (.remove(let remove)?, GroupEntryType.remove):
            let member = try Self.agent(remove.member, in: entry)
            if remove.hasRekey { epochKeys = try Self.checked(remove.rekey, in: entry) }
            action = .remove(member: member, cutoff: remove.cutoff, rekeyedTo: epochKeys.map(Self.recipients))
        case (.role(let change)?, GroupEntryType.role):
            action = .setRole(member: try Self.agent(change.member, in: entry), role: try Self.role(change.role, in: entry), atSeq: change.atSeq)
        case (.rekey(let keys)?, GroupEntryType.rekey) where !keys.continues.isEmpty:
            guard let epoch = EntryID(bytes: keys.continues), keys.previous.isEmpty, keys.parts == 0 else {
                throw Self.malformed(entry, "continues an epoch wrongly (a 32-byte id, no wrapped keys, no parts)")
            }
            let checked = try Self.checked(keys, in: entry)
            epochKeys = checked
            action = .continueEpoch(epoch: epoch, recipients: Self.recipients(checked))
        case (.rekey(let keys)?, GroupEntryType.rekey):
            let checked = try Self.checked(keys, in: entry)
            epochKeys = checked
            action = .rekey(recipients: Self.recipients(checked))
        default:
            throw Self.malformed(entry, "carries no action matching its type \(entry.type)")
        }
        let group: EntryID
        if case .create = action {
            group = entry.id
        } else {
            guard let named = EntryID(bytes: message.group), !parents.isEmpty else {
                throw Self.malformed(entry, "names no group id or no parents")
            }
            group = named
        }
        self.entry = entry
        self.group = group
        self.control = GroupControl(
            id: entry.id, author: entry.author, parents: parents, action: action, parts: Int(epochKeys?.parts ?? 1), policy: policy)
        self.exchangeKey = exchangeKey
        self.epochKeys = epochKeys
        self.shares = shares
    }

    /// Most entries one epoch's seals may span.
    public static let maxEpochParts = 64

    /// The epoch whose key `epochKeys.sealed` carries: this entry's own, or the one it continues.
    public var sealedEpoch: EntryID? {
        switch control.action {
        case .continueEpoch(let epoch, _): epoch
        default: control.startsEpoch ? entry.id : nil
        }
    }

    static func recipients(_ keys: Plexus_EpochKeys) -> RecipientSet {
        RecipientSet(prefixes: Set(keys.sealed.map { $0.recipient.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }))
    }

    private static func malformed(_ entry: SignedEntry, _ what: String) -> PlexusError {
        PlexusError(.malformedEnvelope, "control entry \(entry.id.hex.prefix(12)) \(what)")
    }

    /// A policy as the wire carries it; an empty treasury is `treasury` (the creator).
    private static func policy(_ wire: Plexus_GroupPolicy, treasury: AgentID, in entry: SignedEntry) throws(PlexusError) -> LedgerPolicy {
        let limit = UInt64(LedgerPolicy.maxAmount)
        guard wire.supplyCap <= limit, wire.faucet <= limit, wire.claimReward <= limit, wire.claimRewardDailyLimit <= limit,
              wire.balanceCap <= limit
        else { throw malformed(entry, "has a policy amount over 2^53") }
        let named = wire.treasury.isEmpty ? treasury : try agent(wire.treasury, in: entry)
        let policy = LedgerPolicy(
            currency: wire.currency, supplyCap: Int64(wire.supplyCap), treasury: named, faucet: Int64(wire.faucet),
            claimReward: Int64(wire.claimReward), claimRewardDailyLimit: Int64(wire.claimRewardDailyLimit),
            feeBasisPoints: Int64(wire.feeBasisPoints), balanceCap: wire.balanceCap == 0 ? nil : Int64(wire.balanceCap))
        if let problem = policy.problem { throw malformed(entry, "has a policy that does not hold: \(problem)") }
        return policy
    }

    private static func agent(_ bytes: Data, in entry: SignedEntry) throws(PlexusError) -> AgentID {
        guard let agent = AgentID(bytes: bytes) else { throw malformed(entry, "names an agent id that is not 32 bytes") }
        return agent
    }

    private static func role(_ text: String, in entry: SignedEntry) throws(PlexusError) -> GroupRole {
        guard let role = GroupRole(rawValue: text) else { throw malformed(entry, "names an unknown role '\(text.prefix(16))'") }
        return role
    }

    private static func binding(_ key: Plexus_ExchangeKey, of agent: AgentID, in entry: SignedEntry) throws(PlexusError) -> ExchangeKeyBinding {
        let binding = ExchangeKeyBinding(agent: agent, publicKey: key.publicKey, signature: key.signature)
        guard binding.verifiedKey() != nil else { throw malformed(entry, "carries an X25519 key not signed by \(agent.short)") }
        return binding
    }

    private static func checked(_ keys: Plexus_EpochKeys, in entry: SignedEntry) throws(PlexusError) -> Plexus_EpochKeys {
        guard !keys.sealed.isEmpty else { throw malformed(entry, "starts an epoch sealed to nobody") }
        guard keys.parts <= maxEpochParts else { throw malformed(entry, "spans an epoch over more than \(maxEpochParts) entries") }
        for sealed in keys.sealed { try checkSealed(sealed, in: entry) }
        for wrapped in keys.previous where EntryID(bytes: wrapped.epoch) == nil || wrapped.ciphertext.count != 48 {
            throw malformed(entry, "wraps an earlier epoch key wrongly (32-byte id, 48 bytes)")
        }
        return keys
    }

    private static func checkSealed(_ sealed: Plexus_SealedKey, in entry: SignedEntry) throws(PlexusError) {
        guard sealed.recipient.count == 8, sealed.encapsulatedKey.count == 32, sealed.ciphertext.count == 48 else {
            throw malformed(entry, "seals a key wrongly (8-byte recipient, 32-byte encapsulated key, 48-byte ciphertext)")
        }
    }
}
