import Crypto
import Foundation

/// Noise `CipherState` (spec §5.1): a ChaCha20-Poly1305 key and a 64-bit counter nonce.
/// The nonce is 4 zero bytes followed by the counter in little-endian order (spec §12.3).
public struct CipherState: Sendable {
    /// Largest plaintext/ciphertext of one Noise message.
    public static let maxMessageLength = 65535
    /// Bytes the AEAD adds to every message.
    public static let tagLength = 16

    private var key: SymmetricKey?
    /// The next nonce to use.
    public private(set) var nonce: UInt64 = 0

    public init() {}

    /// A cipher with `key` and nonce 0.
    public init(key: SymmetricKey) {
        self.key = key
    }

    public var hasKey: Bool { key != nil }

    mutating func initializeKey(_ key: SymmetricKey) {
        self.key = key
        self.nonce = 0
    }

    /// Encrypts `plaintext` with associated data `ad`; without a key, returns it as is.
    /// The result is `ciphertext ‖ tag`.
    public mutating func encrypt(ad: some DataProtocol, plaintext: some DataProtocol) throws(NoiseError) -> Data {
        guard let key else { return Data(plaintext) }
        guard nonce != UInt64.max else { throw .nonceExhausted }
        do {
            let box = try ChaChaPoly.seal(plaintext, using: key, nonce: Self.nonce(nonce), authenticating: ad)
            nonce += 1
            // `combined` is nonce ‖ ciphertext ‖ tag; the slice shares its storage.
            return box.combined.dropFirst(Self.nonceLength)
        } catch {
            throw .decryptionFailed
        }
    }

    /// Decrypts and authenticates `ciphertext ‖ tag`; without a key, returns it as is.
    /// The nonce advances only on success.
    public mutating func decrypt(ad: some DataProtocol, ciphertext: some DataProtocol) throws(NoiseError) -> Data {
        guard let key else { return Data(ciphertext) }
        guard nonce != UInt64.max else { throw .nonceExhausted }
        guard ciphertext.count >= Self.tagLength else { throw .decryptionFailed }
        // One copy: the box's combined form, nonce ‖ ciphertext ‖ tag.
        var combined = Data(capacity: Self.nonceLength + ciphertext.count)
        combined.append(contentsOf: Self.nonceBytes(nonce))
        combined.append(contentsOf: ciphertext)
        do {
            let plaintext = try ChaChaPoly.open(try ChaChaPoly.SealedBox(combined: combined), using: key, authenticating: ad)
            nonce += 1
            return plaintext
        } catch {
            throw .decryptionFailed
        }
    }

    static let nonceLength = 12

    private static func nonceBytes(_ counter: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: nonceLength)
        for index in 0..<8 { bytes[4 + index] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(index))) }
        return bytes
    }

    private static func nonce(_ counter: UInt64) -> ChaChaPoly.Nonce {
        // A 12-byte array is always a valid ChaChaPoly nonce.
        try! ChaChaPoly.Nonce(data: nonceBytes(counter))
    }
}
