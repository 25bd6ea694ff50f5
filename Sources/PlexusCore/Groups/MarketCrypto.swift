import Crypto
import Foundation

/// The cryptography of a knowledge-market sale (PROTOCOL.md §14.6).
///
/// The seller encrypts the goods under a content key K and publishes `SHA-256(K)`. A buyer
/// picks a secret r, locks the price conditioned on `SHA-256(K)` and `SHA-256(r)`, and seals
/// r to the seller. The seller's claim publishes `K ⊕ mask(r)`: the buyer, who knows r,
/// recovers K; other members see only a masked key. A claim whose masked key does not open
/// to K is proven bad by revealing r (anyone can then check both hashes), which voids it.
///
/// K and r are derived from the agent's seed and a random nonce carried in the offer or the
/// purchase, so neither needs to be stored: the node finds them again after a restart.
public enum MarketCrypto {
    /// Bytes of a content key, a buyer's secret and a mask.
    public static let keyBytes = 32
    /// Bytes of the nonce an offer or a purchase carries.
    public static let nonceBytes = 16
    /// The `AgentSeal` label of a buyer's secret sealed to the seller.
    public static let secretSealLabel = "plexus/market-secret/v1"

    /// A fresh nonce for an offer or a purchase.
    public static func nonce() -> Data {
        Data(SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) })
    }

    /// The seller's content key for an offer: HKDF-SHA256(seed, salt = nonce,
    /// info = `plexus/market-key/v1` ‖ group), 32 bytes.
    public static func contentKey(of agent: AgentKey, group: EntryID, nonce: Data) -> SymmetricKey {
        derive(agent, label: "plexus/market-key/v1", group: group, nonce: nonce)
    }

    /// The buyer's secret r for a purchase: HKDF-SHA256(seed, salt = nonce,
    /// info = `plexus/market-buyer/v1` ‖ group), 32 bytes.
    public static func buyerSecret(of agent: AgentKey, group: EntryID, nonce: Data) -> Data {
        derive(agent, label: "plexus/market-buyer/v1", group: group, nonce: nonce).withUnsafeBytes { Data($0) }
    }

    /// SHA-256 of a key or secret: what an offer and a purchase commit to.
    public static func hash(_ bytes: some DataProtocol) -> Data {
        Data(SHA256.hash(data: bytes))
    }

    /// SHA-256 of a content key.
    public static func hash(_ key: SymmetricKey) -> Data {
        key.withUnsafeBytes { Data(SHA256.hash(data: $0)) }
    }

    /// The mask a claim applies to the key: HKDF-SHA256(r, no salt,
    /// info = `plexus/market-mask/v1` ‖ purchase id), 32 bytes.
    public static func mask(secret: Data, purchase: EntryID) -> Data {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: secret), info: Data("plexus/market-mask/v1".utf8) + Data(purchase.bytes),
            outputByteCount: keyBytes
        ).withUnsafeBytes { Data($0) }
    }

    /// K ⊕ mask(r): what a claim carries.
    public static func maskedKey(_ key: SymmetricKey, secret: Data, purchase: EntryID) -> Data {
        let mask = mask(secret: secret, purchase: purchase)
        return key.withUnsafeBytes { Data(zip($0, mask).map { $0 ^ $1 }) }
    }

    /// The key a claim's masked key opens to under r (the right one only when the seller
    /// masked the offer's key with this r).
    public static func unmask(_ masked: Data, secret: Data, purchase: EntryID) -> SymmetricKey {
        SymmetricKey(data: Data(zip(masked, mask(secret: secret, purchase: purchase)).map { $0 ^ $1 }))
    }

    /// The goods sealed under their content key: ChaCha20-Poly1305 with a zero nonce (each
    /// key seals one message) and no associated data; ciphertext ‖ 16-byte tag.
    public static func sealGoods(_ goods: Data, key: SymmetricKey) throws(PlexusError) -> Data {
        do {
            let box = try ChaChaPoly.seal(goods, using: key, nonce: ChaChaPoly.Nonce(data: Data(count: 12)))
            return box.ciphertext + box.tag
        } catch {
            throw PlexusError(.internal, "sealing goods failed: \(error)")
        }
    }

    /// The goods; `malformedEnvelope` when `key` is not theirs or they were altered.
    public static func openGoods(_ sealed: Data, key: SymmetricKey) throws(PlexusError) -> Data {
        do {
            guard sealed.count >= 16 else { throw PlexusError(.malformedEnvelope, "sealed goods are shorter than their tag") }
            let box = try ChaChaPoly.SealedBox(
                nonce: ChaChaPoly.Nonce(data: Data(count: 12)), ciphertext: sealed.dropLast(16), tag: sealed.suffix(16))
            return try ChaChaPoly.open(box, using: key)
        } catch let error as PlexusError {
            throw error
        } catch {
            throw PlexusError(.malformedEnvelope, "the goods do not open under this key")
        }
    }

    private static func derive(_ agent: AgentKey, label: String, group: EntryID, nonce: Data) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: agent.seed), salt: nonce, info: Data(label.utf8) + Data(group.bytes),
            outputByteCount: keyBytes)
    }
}
