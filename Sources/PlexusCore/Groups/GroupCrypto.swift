import Crypto
import Foundation

/// An agent's X25519 key, for sealing things to it (group epoch keys; later direct
/// messages). Derived from the agent's Ed25519 seed with HKDF, so it needs no file of its
/// own and is sealed under the passphrase with the identity; bound to the agent id by a
/// signature anyone can check (`ExchangeKeyBinding`).
public struct ExchangeKey: Sendable {
    public let privateKey: Curve25519.KeyAgreement.PrivateKey

    public var publicKey: Curve25519.KeyAgreement.PublicKey { privateKey.publicKey }

    /// The agent's exchange key: HKDF-SHA256 of its seed, info `plexus/x25519/v1`.
    public init(agent: AgentKey) {
        let derived = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: agent.seed), info: Data(SigningDomain.exchangeKey.prefix.utf8), outputByteCount: 32)
        // Any 32 bytes are an X25519 private key (they are clamped when used).
        self.privateKey = derived.withUnsafeBytes { bytes in
            try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: bytes)
        }
    }

    /// The signed statement that this key belongs to `agent`.
    public static func binding(of agent: AgentKey) -> ExchangeKeyBinding {
        let key = ExchangeKey(agent: agent).publicKey.rawRepresentation
        return ExchangeKeyBinding(agent: agent.id, publicKey: key, signature: agent.sign(domain: .exchangeKey, key))
    }
}

/// An agent's X25519 public key with the agent's signature over it
/// (`plexus/x25519/v1` ‖ key): what others seal to.
public struct ExchangeKeyBinding: Sendable, Equatable {
    public let agent: AgentID
    public let publicKey: Data
    public let signature: Data

    public init(agent: AgentID, publicKey: Data, signature: Data) {
        self.agent = agent
        self.publicKey = publicKey
        self.signature = signature
    }

    /// The binding as control entries carry it (`ExchangeKey` message).
    public var wire: Plexus_ExchangeKey {
        var key = Plexus_ExchangeKey()
        key.publicKey = publicKey
        key.signature = signature
        return key
    }

    /// The key, when the binding is well formed and signed by its agent.
    public func verifiedKey() -> Curve25519.KeyAgreement.PublicKey? {
        guard publicKey.count == 32, signature.count == 64,
              agent.verify(signature: signature, domain: .exchangeKey, publicKey)
        else { return nil }
        return try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: publicKey)
    }
}

/// Single-shot HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
/// ChaCha20-Poly1305, to one agent: `info` is a label followed by the recipient's 32-byte
/// agent id, and there is no associated data (PROTOCOL.md §13.3).
public enum AgentSeal {
    /// The encapsulated key (32 bytes) and the ciphertext (plaintext + 16).
    public static func seal(
        _ plaintext: Data, to recipient: AgentID, key: Curve25519.KeyAgreement.PublicKey, label: String
    ) throws(PlexusError) -> (encapsulatedKey: Data, ciphertext: Data) {
        do {
            var sender = try HPKE.Sender(recipientKey: key, ciphersuite: .Curve25519_SHA256_ChachaPoly, info: info(label, recipient))
            let ciphertext = try sender.seal(plaintext)
            return (sender.encapsulatedKey, ciphertext)
        } catch {
            throw PlexusError(.internal, "sealing to \(recipient.short) failed: \(error)")
        }
    }

    /// The plaintext, or `malformedEnvelope` when it was not sealed to this key and label.
    public static func open(
        encapsulatedKey: Data, ciphertext: Data, recipient: AgentID, key: ExchangeKey, label: String
    ) throws(PlexusError) -> Data {
        do {
            var context = try HPKE.Recipient(
                privateKey: key.privateKey, ciphersuite: .Curve25519_SHA256_ChachaPoly, info: info(label, recipient),
                encapsulatedKey: encapsulatedKey)
            return try context.open(ciphertext)
        } catch {
            throw PlexusError(.malformedEnvelope, "a seal does not open for \(recipient.short)")
        }
    }

    static func info(_ label: String, _ recipient: AgentID) -> Data {
        Data(label.utf8) + Data(recipient.bytes)
    }
}

/// A group's epoch key sealed to one agent (`AgentSeal`, label `plexus/group-epoch/v1`):
/// 32 bytes of encapsulated key and 48 of ciphertext.
public struct SealedEpochKey: Sendable, Equatable {
    public static let label = "plexus/group-epoch/v1"

    public let recipient: AgentID
    public let encapsulatedKey: Data
    public let ciphertext: Data

    public init(recipient: AgentID, encapsulatedKey: Data, ciphertext: Data) {
        self.recipient = recipient
        self.encapsulatedKey = encapsulatedKey
        self.ciphertext = ciphertext
    }

    /// Seals `key` to the agent of `binding`; `invalidArgument` when the binding does not verify.
    public static func seal(_ key: SymmetricKey, to binding: ExchangeKeyBinding) throws(PlexusError) -> SealedEpochKey {
        guard let recipientKey = binding.verifiedKey() else {
            throw PlexusError(.invalidArgument, "the X25519 key of \(binding.agent) is not signed by it")
        }
        let sealed = try AgentSeal.seal(key.withUnsafeBytes { Data($0) }, to: binding.agent, key: recipientKey, label: Self.label)
        return SealedEpochKey(recipient: binding.agent, encapsulatedKey: sealed.encapsulatedKey, ciphertext: sealed.ciphertext)
    }

    /// Opens the seal with the recipient's exchange key; `malformedEnvelope` when it was
    /// not sealed to that key or was altered.
    public func open(with key: ExchangeKey) throws(PlexusError) -> SymmetricKey {
        let opened = try AgentSeal.open(
            encapsulatedKey: encapsulatedKey, ciphertext: ciphertext, recipient: recipient, key: key, label: Self.label)
        guard opened.count == 32 else { throw PlexusError(.malformedEnvelope, "an epoch key is 32 bytes, not \(opened.count)") }
        return SymmetricKey(data: opened)
    }
}

/// The encryption of one group entry's inner body (DESIGN §9): a key per entry,
/// HKDF-SHA256(epoch key, salt, `plexus/group-entry/v1` ‖ group ‖ author ‖ seq as 8
/// bytes big-endian), and ChaCha20-Poly1305 under it with a zero nonce (each key seals one
/// message) and the epoch id as associated data. The salt (16 random bytes) travels with
/// the ciphertext.
public enum GroupEnvelopeCipher {
    public static let saltBytes = 16
    /// The HKDF label of member entries (§13.4) and of presence (§13.10).
    public static let entryLabel = "plexus/group-entry/v1"
    public static let presenceLabel = "plexus/group-presence/v1"

    public static func seal(
        _ plaintext: some DataProtocol, epochKey: SymmetricKey, epoch: EntryID, group: EntryID, author: AgentID, seq: UInt64,
        salt: some DataProtocol, label: String = entryLabel
    ) throws(PlexusError) -> Data {
        guard salt.count == saltBytes else { throw PlexusError(.invalidArgument, "an envelope salt is \(saltBytes) bytes") }
        let key = entryKey(epochKey: epochKey, group: group, author: author, seq: seq, salt: salt, label: label)
        do {
            let box = try ChaChaPoly.seal(plaintext, using: key, nonce: zeroNonce, authenticating: Data(epoch.bytes))
            return box.ciphertext + box.tag
        } catch {
            throw PlexusError(.internal, "sealing a group entry failed: \(error)")
        }
    }

    /// The inner body, or `malformedEnvelope` when the key, the salt or any byte is wrong.
    public static func open(
        _ ciphertext: some DataProtocol, epochKey: SymmetricKey, epoch: EntryID, group: EntryID, author: AgentID, seq: UInt64,
        salt: some DataProtocol, label: String = entryLabel
    ) throws(PlexusError) -> Data {
        guard salt.count == saltBytes, ciphertext.count >= 16 else {
            throw PlexusError(.malformedEnvelope, "a group envelope needs a \(saltBytes)-byte salt and a 16-byte tag")
        }
        let key = entryKey(epochKey: epochKey, group: group, author: author, seq: seq, salt: salt, label: label)
        do {
            let box = try ChaChaPoly.SealedBox(combined: Data(zeroNonce) + Data(ciphertext))
            return try ChaChaPoly.open(box, using: key, authenticating: Data(epoch.bytes))
        } catch {
            throw PlexusError(.malformedEnvelope, "the group entry does not open under epoch \(epoch.hex.prefix(12))")
        }
    }

    static func entryKey(
        epochKey: SymmetricKey, group: EntryID, author: AgentID, seq: UInt64, salt: some DataProtocol, label: String = entryLabel
    ) -> SymmetricKey {
        var info = Data(label.utf8)
        info.append(contentsOf: group.bytes)
        info.append(contentsOf: author.bytes)
        withUnsafeBytes(of: seq.bigEndian) { info.append(contentsOf: $0) }
        return HKDF<SHA256>.deriveKey(inputKeyMaterial: epochKey, salt: Data(salt), info: info, outputByteCount: 32)
    }
}

/// An earlier epoch key wrapped under a newer one, so whoever opens the newer key reads
/// the history before it (PROTOCOL.md §13.3): ChaCha20-Poly1305 with the key
/// HKDF-SHA256(new key, info `plexus/group-wrap/v1` ‖ old epoch id) and a zero nonce.
public enum EpochKeyWrap {
    public static func wrap(_ key: SymmetricKey, epoch: EntryID, under newKey: SymmetricKey) throws(PlexusError) -> Data {
        do {
            let box = try ChaChaPoly.seal(key.withUnsafeBytes { Data($0) }, using: wrappingKey(newKey, epoch: epoch), nonce: zeroNonce)
            return box.ciphertext + box.tag
        } catch {
            throw PlexusError(.internal, "wrapping an epoch key failed: \(error)")
        }
    }

    /// The earlier key, or `malformedEnvelope` when it does not open under `newKey`.
    public static func unwrap(_ wrapped: Data, epoch: EntryID, under newKey: SymmetricKey) throws(PlexusError) -> SymmetricKey {
        guard wrapped.count == 48,
              let box = try? ChaChaPoly.SealedBox(combined: Data(zeroNonce) + wrapped),
              let opened = try? ChaChaPoly.open(box, using: wrappingKey(newKey, epoch: epoch))
        else {
            throw PlexusError(.malformedEnvelope, "the wrapped key of epoch \(epoch.hex.prefix(12)) does not open")
        }
        return SymmetricKey(data: opened)
    }

    private static func wrappingKey(_ newKey: SymmetricKey, epoch: EntryID) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: newKey, info: Data("plexus/group-wrap/v1".utf8) + Data(epoch.bytes), outputByteCount: 32)
    }
}

/// Seals epoch keys for storage on this node under a key derived from the agent's seed
/// (HKDF-SHA256, info `plexus/local-epoch-keys/v1`), so a copy of the database alone
/// opens nothing, and the keys are under the passphrase when the key file is.
public struct EpochKeyVault: Sendable {
    private let key: SymmetricKey

    public init(agent: AgentKey) {
        self.key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: agent.seed), info: Data("plexus/local-epoch-keys/v1".utf8), outputByteCount: 32)
    }

    /// The sealed key (nonce ‖ ciphertext ‖ tag), bound to its group and epoch.
    public func seal(_ epochKey: SymmetricKey, group: EntryID, epoch: EntryID) throws(PlexusError) -> Data {
        do {
            let box = try ChaChaPoly.seal(
                epochKey.withUnsafeBytes { Data($0) }, using: key, authenticating: Data(group.bytes) + Data(epoch.bytes))
            return box.combined
        } catch {
            throw PlexusError(.internal, "sealing an epoch key for storage failed: \(error)")
        }
    }

    public func open(_ sealed: Data, group: EntryID, epoch: EntryID) throws(PlexusError) -> SymmetricKey {
        guard let box = try? ChaChaPoly.SealedBox(combined: sealed),
              let opened = try? ChaChaPoly.open(box, using: key, authenticating: Data(group.bytes) + Data(epoch.bytes)),
              opened.count == 32
        else {
            throw PlexusError(.keyFileCorrupt, "a stored key of epoch \(epoch.hex.prefix(12)) does not open with this identity")
        }
        return SymmetricKey(data: opened)
    }
}

/// Twelve zero bytes: the nonce of keys that seal one message each.
let zeroNonce: ChaChaPoly.Nonce = {
    // Twelve bytes are always a valid nonce.
    try! ChaChaPoly.Nonce(data: Data(count: 12))
}()
