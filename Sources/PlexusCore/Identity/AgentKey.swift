import CSodium
import Crypto
import Foundation

/// An agent's Ed25519 signing key (DESIGN §3). It signs entries, and later the Noise
/// handshake payload that binds a node's static key to this identity.
public struct AgentKey: Sendable {
    /// The private signing key.
    public let privateKey: Curve25519.Signing.PrivateKey
    /// The agent id, derived from the public key.
    public let id: AgentID

    /// A fresh random key.
    public init() {
        self.init(privateKey: Curve25519.Signing.PrivateKey())
    }

    /// Wraps an existing private key.
    public init(privateKey: Curve25519.Signing.PrivateKey) {
        self.privateKey = privateKey
        // A Curve25519 public key is always 32 bytes, so the id always exists.
        self.id = AgentID(bytes: privateKey.publicKey.rawRepresentation)!
    }

    /// Restores a key from its 32-byte seed.
    public init(seed: some ContiguousBytes) throws(PlexusError) {
        do {
            self.init(privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: seed))
        } catch {
            throw PlexusError(.keyFileCorrupt, "identity key seed is not a valid Ed25519 key")
        }
    }

    /// The 32-byte seed (secret).
    public var seed: Data { privateKey.rawRepresentation }

    /// Signs `domain ‖ message`. Every signature in Plexus carries a domain prefix so a
    /// signature made for one purpose can never be replayed as another.
    public func sign(domain: SigningDomain, _ message: some DataProtocol) -> Data {
        var input = Data(domain.prefix.utf8)
        input.append(contentsOf: message)
        // Ed25519 signing over a byte string cannot fail for a valid key.
        return try! privateKey.signature(for: input)
    }
}

/// The domain-separation prefixes of Plexus signatures.
public enum SigningDomain: Sendable {
    /// `plexus/entry/v1`: entry bodies (DESIGN §4).
    case entry
    /// `plexus-noise-static:`: a node's Noise static key, bound to the agent (DESIGN §5).
    case noiseStatic
    /// `plexus/task/v1`: task messages that travel through a relay (PROTOCOL.md §10.1).
    case task
    /// `plexus/user-cert/v1`: a user vouching for an agent (PROTOCOL.md §9).
    case userCertificate
    /// `plexus/record/v1`: signed soft state such as agent records (PROTOCOL.md §9).
    case record
    /// `plexus/x25519/v1`: an agent's X25519 key, bound to the agent (`ExchangeKey`).
    case exchangeKey
    /// `plexus/dm/v1`: direct messages and their acknowledgements (PROTOCOL.md §16).
    case direct
    /// `plexus/beacon/v1`: LAN discovery beacons (PROTOCOL.md §17).
    case beacon

    public var prefix: String {
        switch self {
        case .entry: "plexus/entry/v1"
        case .noiseStatic: "plexus-noise-static:"
        case .task: "plexus/task/v1"
        case .userCertificate: "plexus/user-cert/v1"
        case .record: "plexus/record/v1"
        case .exchangeKey: "plexus/x25519/v1"
        case .direct: "plexus/dm/v1"
        case .beacon: "plexus/beacon/v1"
        }
    }
}

extension AgentID {
    /// Verifies an Ed25519 signature by this agent over `domain ‖ message`.
    ///
    /// Valid means what BoringSSL (swift-crypto) says, as it always has: RFC 8032 (PROTOCOL.md's
    /// conventions) checked without the cofactor, S below the group order. libsodium is asked
    /// first, being about twice as fast here; it accepts only signatures BoringSSL accepts
    /// (the same equation, and it also refuses small-order and non-canonical points), so
    /// BoringSSL is asked only about those libsodium refuses.
    public func verify(signature: some DataProtocol, domain: SigningDomain, _ message: some DataProtocol) -> Bool {
        var input = Data(domain.prefix.utf8)
        input.append(contentsOf: message)
        let signature = [UInt8](signature)
        if signature.count == Int(crypto_sign_BYTES), bytes.count == Int(crypto_sign_PUBLICKEYBYTES), Self.sodiumReady,
            Self.isBelowGroupOrder(signature[32...])
        {
            let accepted = input.withUnsafeBytes { input in
                crypto_sign_verify_detached(
                    signature, input.bindMemory(to: UInt8.self).baseAddress, UInt64(input.count), bytes) == 0
            }
            if accepted { return true }
        }
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: bytes) else { return false }
        return key.isValidSignature(signature, for: input)
    }

    /// libsodium initialised (once; it picks its implementations for this CPU).
    private static let sodiumReady = sodium_init() >= 0

    /// The order L of Ed25519's group, little-endian.
    static let groupOrder: [UInt8] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ]

    /// Whether S (32 bytes, little-endian) is below L. libsodium checks it too, unless built
    /// with ED25519_COMPAT; checked here so the subset holds whatever build is loaded.
    private static func isBelowGroupOrder(_ s: ArraySlice<UInt8>) -> Bool {
        for (byte, limit) in zip(s.reversed(), groupOrder.reversed()) where byte != limit {
            return byte < limit
        }
        return false
    }
}
