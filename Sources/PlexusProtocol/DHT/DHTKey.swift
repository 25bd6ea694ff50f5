import Crypto

/// A point in the DHT's 256-bit key space: node ids (the SHA-256 of an agent id) and the
/// keys values are stored under. Distance is XOR (Kademlia); keys compare as big-endian
/// unsigned integers, so a smaller XOR is a closer key.
public struct DHTKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Most significant word first.
    public let words: (UInt64, UInt64, UInt64, UInt64)

    public init(words: (UInt64, UInt64, UInt64, UInt64)) {
        self.words = words
    }

    /// The key of 32 bytes (big-endian); nil for another length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        var parts: [UInt64] = [0, 0, 0, 0]
        for (index, byte) in bytes.enumerated() {
            parts[index / 8] = parts[index / 8] << 8 | UInt64(byte)
        }
        words = (parts[0], parts[1], parts[2], parts[3])
    }

    /// SHA-256 of `domain` and `bytes`: how names and agent ids become keys, spread evenly.
    public init(hashing bytes: some Sequence<UInt8>, domain: String) {
        var hash = SHA256()
        hash.update(data: Array(domain.utf8))
        hash.update(data: Array(bytes))
        // A SHA-256 digest is always 32 bytes.
        self.init(bytes: Array(hash.finalize()))!
    }

    /// A uniformly random key.
    public init(random generator: inout some RandomNumberGenerator) {
        words = (generator.next(), generator.next(), generator.next(), generator.next())
    }

    public var bytes: [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(32)
        for word in [words.0, words.1, words.2, words.3] {
            for shift in stride(from: 56, through: 0, by: -8) { output.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return output
    }

    /// XOR distance to `other`.
    public func distance(to other: DHTKey) -> DHTKey {
        DHTKey(words: (words.0 ^ other.words.0, words.1 ^ other.words.1, words.2 ^ other.words.2, words.3 ^ other.words.3))
    }

    /// Leading zero bits (256 for the zero key): the length of the prefix shared with the
    /// key this one is a distance from.
    public var leadingZeroBits: Int {
        for (index, word) in [words.0, words.1, words.2, words.3].enumerated() where word != 0 {
            return index * 64 + word.leadingZeroBitCount
        }
        return 256
    }

    public static func == (lhs: DHTKey, rhs: DHTKey) -> Bool {
        lhs.words == rhs.words
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    public static func < (lhs: DHTKey, rhs: DHTKey) -> Bool {
        if lhs.words.0 != rhs.words.0 { return lhs.words.0 < rhs.words.0 }
        if lhs.words.1 != rhs.words.1 { return lhs.words.1 < rhs.words.1 }
        if lhs.words.2 != rhs.words.2 { return lhs.words.2 < rhs.words.2 }
        return lhs.words.3 < rhs.words.3
    }

    public var description: String {
        bytes.prefix(6).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
