import Crypto
import Foundation
import PlexusCore

/// Encrypted blobs (PROTOCOL.md §15.1): a blob whose bytes only holders of a key read — a
/// private group's (under its epoch key) or a market purchase's (under the offer's content
/// key). The blob is the sealed form, so peers store and serve it like any other and its
/// id is the SHA-256 of the sealed bytes.
///
/// Layout: `"PXB1"` ‖ context length (1 byte) ‖ context ‖ nonce (16 bytes) ‖ segments. The
/// context names the key without revealing it (a group's epoch id); the segment key is
/// `HKDF-SHA256(ikm: key, salt: nonce, info: "plexus/blob/v1" ‖ domain)`. The plaintext is
/// cut into segments of 65,536 bytes (the last shorter, possibly empty), each sealed with
/// ChaCha20-Poly1305 under the 12-byte nonce `0x00000000 ‖ index as uint64 BE` with the
/// one-byte additional data 1 for the last segment and 0 for the others, so segments
/// cannot be reordered, dropped or the blob cut short unnoticed.
public enum BlobCipher {
    public static let magic = Data("PXB1".utf8)
    public static let segmentSize = 65_536
    static let tagSize = 16

    /// Derives the segment key from the group's or offer's key.
    public static func segmentKey(_ key: SymmetricKey, nonce: Data, domain: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: key, salt: nonce, info: Data("plexus/blob/v1".utf8) + Data(domain.utf8), outputByteCount: 32)
    }

    /// Seals plaintext as it streams past.
    public struct Sealer: Sendable {
        private let key: SymmetricKey
        private var pending = Data()
        private var index: UInt64 = 0
        /// The header, to write before the first sealed segment.
        public let header: Data

        public init(key: SymmetricKey, context: Data, domain: String) {
            let nonce = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
            self.key = BlobCipher.segmentKey(key, nonce: nonce, domain: domain)
            header = BlobCipher.magic + Data([UInt8(min(context.count, 255))]) + context.prefix(255) + nonce
        }

        /// Adds plaintext; returns the segments it completed, sealed.
        public mutating func update(_ data: Data) throws -> Data {
            pending.append(data)
            var out = Data()
            // Keep at least one byte back: the last segment is sealed as last in `finish`.
            while pending.count > BlobCipher.segmentSize {
                out += try seal(pending.prefix(BlobCipher.segmentSize), last: false)
                pending = Data(pending.dropFirst(BlobCipher.segmentSize))
            }
            return out
        }

        /// Seals what is left as the last segment.
        public mutating func finish() throws -> Data {
            defer { pending = Data() }
            return try seal(pending, last: true)
        }

        private mutating func seal(_ plain: Data, last: Bool) throws -> Data {
            let box = try ChaChaPoly.seal(plain, using: key, nonce: BlobCipher.nonce(index), authenticating: Data([last ? 1 : 0]))
            index += 1
            return box.ciphertext + box.tag
        }
    }

    /// The header of a sealed blob: its context and nonce, and where the segments start.
    public struct Header: Sendable, Equatable {
        public let context: Data
        public let nonce: Data
        public let length: Int

        /// Reads the header at the start of `data`; nil when it is not a sealed blob.
        public init?(_ data: Data) {
            guard data.count >= 5, data.prefix(4) == BlobCipher.magic else { return nil }
            let contextLength = Int(data[data.startIndex + 4])
            guard data.count >= 5 + contextLength + 16 else { return nil }
            let start = data.startIndex + 5
            context = Data(data[start..<start + contextLength])
            nonce = Data(data[start + contextLength..<start + contextLength + 16])
            length = 5 + contextLength + 16
        }
    }

    /// Opens sealed segments as they stream past (after the header).
    public struct Opener: Sendable {
        private let key: SymmetricKey
        private var pending = Data()
        private var index: UInt64 = 0
        private var ended = false

        public init(key: SymmetricKey, header: Header, domain: String) {
            self.key = BlobCipher.segmentKey(key, nonce: header.nonce, domain: domain)
        }

        /// Adds sealed bytes; returns the plaintext of the segments completed. A segment is
        /// opened as the last one only in `finish`.
        public mutating func update(_ data: Data) throws(PlexusError) -> Data {
            pending.append(data)
            let sealed = BlobCipher.segmentSize + BlobCipher.tagSize
            var out = Data()
            while pending.count > sealed {
                out += try open(pending.prefix(sealed), last: false)
                pending = Data(pending.dropFirst(sealed))
            }
            return out
        }

        /// Opens the last segment; refused when the blob was cut short or altered.
        public mutating func finish() throws(PlexusError) -> Data {
            try open(pending, last: true)
        }

        private mutating func open(_ sealed: Data, last: Bool) throws(PlexusError) -> Data {
            guard !ended, sealed.count >= BlobCipher.tagSize else {
                throw PlexusError(.malformedEnvelope, "the encrypted blob is cut short or has bytes past its end")
            }
            do {
                let box = try ChaChaPoly.SealedBox(
                    nonce: BlobCipher.nonce(index), ciphertext: sealed.dropLast(BlobCipher.tagSize), tag: sealed.suffix(BlobCipher.tagSize))
                let plain = try ChaChaPoly.open(box, using: key, authenticating: Data([last ? 1 : 0]))
                index += 1
                if last { ended = true }
                return plain
            } catch {
                throw PlexusError(.malformedEnvelope, "segment \(index) of the encrypted blob does not open with this key (not for it, or altered)")
            }
        }
    }

    static func nonce(_ index: UInt64) -> ChaChaPoly.Nonce {
        var bytes = Data(count: 4)
        withUnsafeBytes(of: index.bigEndian) { bytes.append(contentsOf: $0) }
        // 12 bytes always make a valid nonce.
        return (try? ChaChaPoly.Nonce(data: bytes)) ?? ChaChaPoly.Nonce()
    }
}
