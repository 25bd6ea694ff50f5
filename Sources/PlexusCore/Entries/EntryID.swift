import Crypto
import Foundation

/// An entry's id: SHA-256 of its exact signed body bytes (DESIGN §4). Text form is
/// 64 lowercase hex digits.
public struct EntryID: Hashable, Sendable, CustomStringConvertible {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// Hashes the 32 bytes in one go (the synthesised hash feeds them one by one, which
    /// was the largest cost of folding a ledger and of every set and dictionary of ids).
    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.bytes.withUnsafeBytes { left in
            rhs.bytes.withUnsafeBytes { right in
                guard left.count == right.count, let l = left.baseAddress, let r = right.baseAddress else { return left.count == right.count }
                return memcmp(l, r, left.count) == 0
            }
        }
    }

    /// Wraps 32 digest bytes; nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        self.bytes = Array(bytes)
    }

    /// Parses 64 hex digits.
    public init?(_ text: some StringProtocol) {
        guard text.utf8.count == 64, let bytes = Hex.decode(text) else { return nil }
        self.bytes = bytes
    }

    /// The id of a serialised body.
    public init(hashing body: some DataProtocol) {
        self.bytes = Array(SHA256.hash(data: body))
    }

    /// Parses text or throws `invalidArgument`.
    public static func parse(_ text: String) throws(PlexusError) -> EntryID {
        guard let id = EntryID(text) else {
            throw PlexusError(.invalidArgument, "not an entry id: '\(text.prefix(80))' (expected 64 hex characters)")
        }
        return id
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }
}

extension EntryID: TextCodable {}
