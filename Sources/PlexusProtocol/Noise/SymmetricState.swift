import Crypto
import Foundation

/// Noise `SymmetricState` (spec §5.2) with SHA-256: the chaining key, the handshake hash
/// and the current cipher.
struct SymmetricState: Sendable {
    private(set) var chainingKey: [UInt8]
    private(set) var handshakeHash: [UInt8]
    private(set) var cipher = CipherState()

    init(protocolName: String) {
        let name = Array(protocolName.utf8)
        if name.count <= 32 {
            handshakeHash = name + [UInt8](repeating: 0, count: 32 - name.count)
        } else {
            handshakeHash = Array(SHA256.hash(data: name))
        }
        chainingKey = handshakeHash
    }

    mutating func mixKey(_ inputKeyMaterial: [UInt8]) {
        let (newChainingKey, tempKey) = Self.hkdf(chainingKey: chainingKey, inputKeyMaterial: inputKeyMaterial)
        chainingKey = newChainingKey
        cipher.initializeKey(SymmetricKey(data: tempKey))
    }

    mutating func mixHash(_ data: some DataProtocol) {
        var hasher = SHA256()
        hasher.update(data: handshakeHash)
        hasher.update(data: data)
        handshakeHash = Array(hasher.finalize())
    }

    mutating func encryptAndHash(_ plaintext: some DataProtocol) throws(NoiseError) -> Data {
        let ciphertext = try cipher.encrypt(ad: handshakeHash, plaintext: plaintext)
        mixHash(ciphertext)
        return ciphertext
    }

    mutating func decryptAndHash(_ ciphertext: some DataProtocol) throws(NoiseError) -> Data {
        let plaintext = try cipher.decrypt(ad: handshakeHash, ciphertext: ciphertext)
        mixHash(ciphertext)
        return plaintext
    }

    /// The two transport ciphers: initiator-to-responder first.
    func split() -> (CipherState, CipherState) {
        let (first, second) = Self.hkdf(chainingKey: chainingKey, inputKeyMaterial: [])
        return (CipherState(key: SymmetricKey(data: first)), CipherState(key: SymmetricKey(data: second)))
    }

    /// Noise's HKDF (spec §4.3) with two outputs, over HMAC-SHA256.
    static func hkdf(chainingKey: [UInt8], inputKeyMaterial: [UInt8]) -> ([UInt8], [UInt8]) {
        let tempKey = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: inputKeyMaterial, using: SymmetricKey(data: chainingKey))))
        let output1 = Array(HMAC<SHA256>.authenticationCode(for: [0x01], using: tempKey))
        let output2 = Array(HMAC<SHA256>.authenticationCode(for: output1 + [0x02], using: tempKey))
        return (output1, output2)
    }
}
