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
    public mutating func encrypt(ad: some DataProtocol, plaintext: some DataProtocol) throws(NoiseError) -> Data {
        guard let key else { return Data(plaintext) }
        guard nonce != UInt64.max else { throw .nonceExhausted }
        do {
            let box = try ChaChaPoly.seal(plaintext, using: key, nonce: Self.nonce(nonce), authenticating: ad)
            nonce += 1
            var output = Data(box.ciphertext)
            output.append(contentsOf: box.tag)
            return output
        } catch {
            throw .decryptionFailed
        }
    }

    /// Decrypts and authenticates `ciphertext`; without a key, returns it as is. The nonce
    /// advances only on success.
    public mutating func decrypt(ad: some DataProtocol, ciphertext: some DataProtocol) throws(NoiseError) -> Data {
        guard let key else { return Data(ciphertext) }
        guard nonce != UInt64.max else { throw .nonceExhausted }
        guard ciphertext.count >= Self.tagLength else { throw .decryptionFailed }
        let bytes = Data(ciphertext)
        do {
            let box = try ChaChaPoly.SealedBox(
                nonce: Self.nonce(nonce),
                ciphertext: bytes.prefix(bytes.count - Self.tagLength),
                tag: bytes.suffix(Self.tagLength))
            let plaintext = try ChaChaPoly.open(box, using: key, authenticating: ad)
            nonce += 1
            return plaintext
        } catch {
            throw .decryptionFailed
        }
    }

    private static func nonce(_ counter: UInt64) -> ChaChaPoly.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for index in 0..<8 { bytes[4 + index] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(index))) }
        // A 12-byte array is always a valid ChaChaPoly nonce.
        return try! ChaChaPoly.Nonce(data: bytes)
    }
}
