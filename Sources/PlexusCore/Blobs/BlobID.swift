import Crypto
import Foundation

/// A blob's id: the SHA-256 of its bytes (DESIGN §14, PROTOCOL.md §15). Text form is 64
/// lowercase hex digits.
public struct BlobID: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// Wraps 32 digest bytes; nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        self.bytes = Array(bytes)
    }

    /// The id of bytes hashed.
    public init(digest: SHA256.Digest) {
        self.bytes = Array(digest)
    }

    /// Parses 64 hex digits.
    public init?(_ text: some StringProtocol) {
        guard text.utf8.count == 64, let bytes = Hex.decode(text) else { return nil }
        self.bytes = bytes
    }

    /// Parses text or throws `invalidArgument`.
    public static func parse(_ text: String) throws(PlexusError) -> BlobID {
        guard let id = BlobID(text) else {
            throw PlexusError(.invalidArgument, "not a blob id: '\(text.prefix(80))' (expected 64 hex characters, the SHA-256 of the bytes)")
        }
        return id
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    public static func < (lhs: BlobID, rhs: BlobID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}

extension BlobID: TextCodable {}
