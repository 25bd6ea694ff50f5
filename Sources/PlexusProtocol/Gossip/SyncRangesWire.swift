import Foundation
import PlexusCore

/// The wire form of reconciliation ranges (PROTOCOL.md §8, `SyncRanges`): bounds as raw
/// 32-byte author keys (empty: none), fingerprints as 16 bytes (`high` then `low`, big
/// endian), `from` written only when above 1. Test vectors: `vectors/fingerprints.json`.
extension HeadsReconciliation {
    /// The message carrying `ranges`.
    public static func wire(_ ranges: [Range]) -> Plexus_SyncRanges {
        .with { message in
            message.ranges = ranges.map { range in
                var wire = Plexus_SyncRange()
                switch range {
                case .fingerprint(let lower, let upper, let fingerprint, let count):
                    wire.lower = lower?.bytes.asData ?? Data()
                    wire.upper = upper?.bytes.asData ?? Data()
                    wire.fingerprint = Data(fingerprint.bytes)
                    wire.count = UInt64(count)
                case .heads(let lower, let upper, let heads, let reply):
                    wire.lower = lower?.bytes.asData ?? Data()
                    wire.upper = upper?.bytes.asData ?? Data()
                    wire.explicit = true
                    wire.reply = reply
                    wire.heads = heads.map { head in
                        .with {
                            $0.author = head.author.bytes.asData; $0.seq = head.seq; $0.count = head.count
                            $0.from = head.from > 1 ? head.from : 0
                        }
                    }
                }
                return wire
            }
        }
    }

    /// The ranges of a message, or nil when any part is malformed.
    public static func ranges(from message: Plexus_SyncRanges) -> [Range]? {
        var ranges: [Range] = []
        for wire in message.ranges {
            guard let lower = bound(wire.lower), let upper = bound(wire.upper) else { return nil }
            if wire.explicit {
                var heads: [Head] = []
                for head in wire.heads {
                    guard let author = AgentID(bytes: head.author) else { return nil }
                    heads.append(Head(author: author, seq: head.seq, count: head.count, from: head.from))
                }
                ranges.append(.heads(lower: lower, upper: upper, heads: heads, reply: wire.reply))
            } else {
                guard let fingerprint = Fingerprint(bytes: wire.fingerprint), wire.count <= UInt64(Int.max) else { return nil }
                ranges.append(.fingerprint(lower: lower, upper: upper, fingerprint: fingerprint, count: Int(wire.count)))
            }
        }
        return ranges
    }

    /// A range bound: `.some(nil)` for none (empty), nil when malformed.
    private static func bound(_ bytes: Data) -> AgentID?? {
        if bytes.isEmpty { return .some(nil) }
        guard let id = AgentID(bytes: bytes) else { return nil }
        return .some(id)
    }
}

extension HeadsReconciliation.Fingerprint {
    /// The 16 wire bytes: `high` then `low`, big endian.
    public var bytes: [UInt8] {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: high.bigEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: low.bigEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Reads 16 wire bytes; nil for any other length.
    public init?(bytes: some DataProtocol) {
        let bytes = Array(bytes)
        guard bytes.count == 16 else { return nil }
        self.init()
        high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }
}
