import Foundation

/// An agent's id: its 32-byte Ed25519 public key (DESIGN §3). The text form is lowercase
/// unpadded base32 (52 characters); `short` is the first 8 characters for display.
public struct AgentID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The 32 public-key bytes.
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

    /// Wraps raw public-key bytes; nil unless exactly 32 bytes.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        self.bytes = Array(bytes)
    }

    /// Parses the base32 text form, or 64 hex digits (as `plexus pubkey` also prints).
    public init?(_ text: some StringProtocol) {
        if text.count == 52, let bytes = Base32.decode(text), bytes.count == 32 {
            self.bytes = bytes
        } else if text.count == 64, let bytes = Hex.decode(text) {
            self.bytes = bytes
        } else {
            return nil
        }
    }

    /// Parses text or throws `invalidArgument` naming what was wrong.
    public static func parse(_ text: String) throws(PlexusError) -> AgentID {
        guard let id = AgentID(text) else {
            throw PlexusError(.invalidArgument, "not an agent id: '\(text.prefix(80))' (expected 52 base32 or 64 hex characters)")
        }
        return id
    }

    public var base32: String { Base32.encode(bytes) }
    public var hex: String { Hex.encode(bytes) }
    public var short: String { String(base32.prefix(8)) }
    public var description: String { base32 }

    public static func < (lhs: AgentID, rhs: AgentID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}

extension AgentID: TextCodable {}
