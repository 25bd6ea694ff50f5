import Foundation
import PlexusCore

/// A fork proof carried in a group (`ledger.fork`, PROTOCOL.md §14.5): two entries one author
/// signed that cannot both be in its feed, so that every member freezes the author's account
/// from the fork, not only the nodes that happened to receive both sides.
public struct LedgerForkProof: Sendable, Equatable {
    public static let type = "ledger.fork"

    public let author: AgentID
    /// Where the author's feed forks: the lower seq of the two entries.
    public let seq: UInt64

    /// The content of a `ledger.fork` entry for two contradicting entries (not checked).
    public static func content(first: SignedEntry, second: SignedEntry) -> JSONValue {
        .object([
            "author": .string(first.author.hex),
            "first": .string(first.encoded().base64EncodedString()),
            "second": .string(second.encoded().base64EncodedString()),
        ])
    }

    /// The proof an entry carries, or nil when it is not a valid one: both entries must
    /// verify, be signed by `author`, and either differ at one seq or be one seq apart with
    /// the later not naming the earlier as its `prev`.
    public init?(_ item: GroupItem, limits: Limits = .standard) {
        guard item.inner.type == Self.type, let content = item.inner.content.objectValue,
              case .string(let authorText)? = content["author"], let author = AgentID(authorText),
              case .string(let firstText)? = content["first"], let firstData = Data(base64Encoded: firstText),
              case .string(let secondText)? = content["second"], let secondData = Data(base64Encoded: secondText),
              let first = try? SignedEntry(encoded: firstData, limits: limits),
              let second = try? SignedEntry(encoded: secondData, limits: limits),
              first.author == author, second.author == author, first.id != second.id
        else { return nil }
        let (lower, higher) = first.seq <= second.seq ? (first, second) : (second, first)
        switch higher.seq - lower.seq {
        case 0: break
        case 1 where higher.prev != lower.id: break
        default: return nil
        }
        self.author = author
        self.seq = lower.seq
    }
}
