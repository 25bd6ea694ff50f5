import Crypto
import _CryptoExtras
import Foundation

/// The on-disk form of an agent's identity key: JSON holding the public id in the clear and
/// the 32-byte Ed25519 seed either plain or sealed under a passphrase with scrypt +
/// ChaChaPoly (DESIGN §3). The public part lets `plexus id` work without the passphrase.
public struct SealedKey: Codable, Sendable, Equatable {
    /// How the seed is protected.
    public enum Seal: String, Codable, Sendable {
        /// Seed stored in the clear; the file's 0600 mode is its only protection.
        case none
        /// Seed sealed with ChaChaPoly under a key derived by scrypt from a passphrase.
        case scryptChaChaPoly = "scrypt-chachapoly"
    }

    /// scrypt parameters, kept in the file so they can be raised later.
    public struct ScryptParameters: Codable, Sendable, Equatable {
        public var logN: Int
        public var r: Int
        public var p: Int
        public var salt: String

        enum CodingKeys: String, CodingKey {
            case logN = "log_n", r, p, salt
        }
    }

    public var version: Int
    public var agentID: AgentID
    public var seal: Seal
    /// Hex seed when `seal == .none`.
    public var seed: String?
    public var scrypt: ScryptParameters?
    /// Hex of ChaChaPoly's combined box (nonce ‖ ciphertext ‖ tag) when sealed.
    public var box: String?

    enum CodingKeys: String, CodingKey {
        case version, agentID = "agent_id", seal, seed, scrypt, box
    }

    /// scrypt cost used for new sealed keys: N = 2^15, r = 8, p = 1 (32 MiB, ~0.1 s).
    public static let defaultLogN = 15

    /// Stores `key` in the clear.
    public init(plain key: AgentKey) {
        self.version = 1
        self.agentID = key.id
        self.seal = .none
        self.seed = Hex.encode(key.seed)
    }

    /// Seals `key` under `passphrase`.
    public init(sealing key: AgentKey, passphrase: String, logN: Int = SealedKey.defaultLogN) throws(PlexusError) {
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max) }
        let parameters = ScryptParameters(logN: logN, r: 8, p: 1, salt: Hex.encode(salt))
        let symmetricKey = try Self.deriveKey(passphrase: passphrase, parameters: parameters, salt: salt)
        let sealed: ChaChaPoly.SealedBox
        do {
            sealed = try ChaChaPoly.seal(key.seed, using: symmetricKey, authenticating: key.id.bytes)
        } catch {
            throw PlexusError(.internal, "could not seal the identity key: \(error)")
        }
        self.version = 1
        self.agentID = key.id
        self.seal = .scryptChaChaPoly
        self.scrypt = parameters
        self.box = Hex.encode(sealed.combined)
    }

    /// Parses the file's JSON.
    public init(json: Data) throws(PlexusError) {
        do {
            self = try JSONDecoder().decode(SealedKey.self, from: json)
        } catch {
            throw PlexusError(.keyFileCorrupt, "identity key file is not valid: \(error)")
        }
        guard version == 1 else {
            throw PlexusError(.keyFileCorrupt, "identity key file has unknown version \(version)")
        }
    }

    /// The file's JSON.
    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding plain strings and ints cannot fail.
        return try! encoder.encode(self)
    }

    /// Whether opening the key needs a passphrase.
    public var needsPassphrase: Bool { seal == .scryptChaChaPoly }

    /// Opens the key. `passphrase` is required for sealed keys. The recovered key must
    /// match the stored agent id, which catches a corrupted or swapped file.
    public func open(passphrase: String?) throws(PlexusError) -> AgentKey {
        let key: AgentKey
        switch seal {
        case .none:
            guard let seed, let bytes = Hex.decode(seed), bytes.count == 32 else {
                throw PlexusError(.keyFileCorrupt, "identity key file has no valid seed")
            }
            key = try AgentKey(seed: bytes)
        case .scryptChaChaPoly:
            guard let passphrase else {
                throw PlexusError(.wrongPassphrase, "the identity key is encrypted: set PLEXUS_PASSPHRASE or run interactively")
            }
            guard let scrypt, let salt = Hex.decode(scrypt.salt), let boxHex = box, let boxBytes = Hex.decode(boxHex),
                  (10...20).contains(scrypt.logN), scrypt.r == 8, scrypt.p == 1
            else {
                throw PlexusError(.keyFileCorrupt, "identity key file has invalid sealing parameters")
            }
            let symmetricKey = try Self.deriveKey(passphrase: passphrase, parameters: scrypt, salt: salt)
            let seedBytes: Data
            do {
                let sealed = try ChaChaPoly.SealedBox(combined: boxBytes)
                seedBytes = try ChaChaPoly.open(sealed, using: symmetricKey, authenticating: agentID.bytes)
            } catch {
                throw PlexusError(.wrongPassphrase, "wrong passphrase for the identity key (or the key file is damaged)")
            }
            key = try AgentKey(seed: seedBytes)
        }
        guard key.id == agentID else {
            throw PlexusError(.keyFileCorrupt, "identity key does not match the agent id recorded in the key file")
        }
        return key
    }

    private static func deriveKey(passphrase: String, parameters: ScryptParameters, salt: [UInt8]) throws(PlexusError) -> SymmetricKey {
        do {
            return try KDF.Scrypt.deriveKey(
                from: Array(passphrase.utf8), salt: salt, outputByteCount: 32,
                rounds: 1 << parameters.logN, blockSize: parameters.r, parallelism: parameters.p
            )
        } catch {
            throw PlexusError(.internal, "scrypt failed: \(error)")
        }
    }
}
