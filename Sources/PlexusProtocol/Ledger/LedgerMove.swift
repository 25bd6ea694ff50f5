import PlexusCore

/// The entry types of a group's ledger (PROTOCOL.md §14), sealed like every member entry;
/// their content is a JSON object.
public enum LedgerEntryType {
    public static let mint = "ledger.mint"
    public static let send = "ledger.send"
    public static let receive = "ledger.receive"

    /// The types that take a place in their author's account chain (a `board.create` with
    /// a reward too: `isChainEntry`): the ledger's own and the market's purchases, claims
    /// and refunds (PROTOCOL.md §14.6).
    public static let chain: Set<String> = [mint, send, receive, MarketEntryType.buy, MarketEntryType.claim, MarketEntryType.refund]

    /// Whether the entry takes a place in its author's account chain: a ledger entry, or a
    /// board task with a reward (which locks the reward in escrow, PROTOCOL.md §14.4).
    public static func isChainEntry(_ item: GroupItem) -> Bool {
        if chain.contains(item.inner.type) { return true }
        guard item.inner.type == TaskBoard.createType, let reward = item.inner.content.objectValue?["reward"] else { return false }
        return reward != .null
    }
}

/// One entry of an account chain, decoded: what it does to its author's account.
///
/// Every chain entry names the author's previous chain entry in the group (`prev`, none
/// for the first), so a reader knows when one is missing, and the policy it follows
/// (`policy`: the id of the `group.create` or `group.policy` entry).
public struct LedgerMove: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// The treasury creates tokens, within the supply cap.
        case mint(amount: Int64)
        /// Tokens leave the author's account: `amount` for `to`, `fee` for the treasury.
        case send(to: AgentID, amount: Int64, fee: Int64, memo: String?, regarding: EntryID?)
        /// The author takes in what the named entries left for it.
        case receive(from: [EntryID])
        /// The author locks `amount` until whom it goes to is settled: as the reward of the
        /// board task this entry creates (the board settles it), or as the price of a market
        /// purchase (the seller's claim or the buyer's refund settles it).
        case lock(amount: Int64)
    }

    public let id: EntryID
    /// The entry type (`ledger.send`, `market.buy`, …).
    public let type: String
    public let author: AgentID
    /// The entry's seq in its author's feed (a fork proof voids the account from there).
    public let seq: UInt64
    public let timeMs: Int64
    public let prev: EntryID?
    public let policy: EntryID
    public let action: Action

    /// Most entries one receipt names.
    public static let maxReceived = 256
    /// Longest memo, in UTF-8 bytes.
    public static let maxMemoBytes = 256

    public init(id: EntryID, type: String, author: AgentID, seq: UInt64, timeMs: Int64, prev: EntryID?, policy: EntryID, action: Action) {
        self.id = id
        self.type = type
        self.author = author
        self.seq = seq
        self.timeMs = timeMs
        self.prev = prev
        self.policy = policy
        self.action = action
    }

    /// Decodes a group entry of a chain type; `malformedEnvelope` says what is wrong.
    public init(_ item: GroupItem) throws(PlexusError) {
        let content = item.inner.content.objectValue ?? [:]
        func fail(_ what: String) -> PlexusError {
            PlexusError(.malformedEnvelope, "ledger entry \(item.id.hex.prefix(12)) \(what)")
        }
        func entryID(_ key: String) throws(PlexusError) -> EntryID? {
            switch content[key] {
            case nil, .null?: return nil
            case .string(let text)?:
                guard let id = EntryID(text) else { throw fail("has a \(key) that is not an entry id") }
                return id
            default: throw fail("has a \(key) that is not an entry id")
            }
        }
        func amount(_ key: String, allowZero: Bool = false) throws(PlexusError) -> Int64 {
            guard case .integer(let value)? = content[key], value >= (allowZero ? 0 : 1), value <= LedgerPolicy.maxAmount else {
                throw fail("needs \(key) as a whole number from \(allowZero ? 0 : 1) to 2^53")
            }
            return value
        }
        guard let policy = try entryID("policy") else { throw fail("names no policy") }
        let action: Action
        switch item.inner.type {
        case LedgerEntryType.mint:
            action = .mint(amount: try amount("amount"))
        case LedgerEntryType.send:
            guard case .string(let text)? = content["to"], let to = AgentID(text) else { throw fail("names no recipient (to)") }
            guard to != item.author else { throw fail("sends to its own author") }
            var memo: String?
            if case .string(let text)? = content["memo"] {
                guard text.utf8.count <= Self.maxMemoBytes else { throw fail("has a memo over \(Self.maxMemoBytes) bytes") }
                memo = text
            }
            action = .send(to: to, amount: try amount("amount"), fee: try amount("fee", allowZero: true), memo: memo, regarding: try entryID("for"))
        case LedgerEntryType.receive:
            guard case .array(let list)? = content["from"], !list.isEmpty, list.count <= Self.maxReceived else {
                throw fail("names 1–\(Self.maxReceived) entries it receives (from)")
            }
            var sources: [EntryID] = []
            for value in list {
                guard case .string(let text) = value, let id = EntryID(text) else { throw fail("receives from something not an entry id") }
                guard !sources.contains(id) else { throw fail("receives from one entry twice") }
                sources.append(id)
            }
            action = .receive(from: sources)
        case TaskBoard.createType:
            action = .lock(amount: try amount("reward"))
        case MarketEntryType.buy:
            // Only a well-formed purchase locks: another could never be settled.
            action = .lock(amount: try MarketPurchase(item).price)
        case MarketEntryType.claim, MarketEntryType.refund:
            // Each takes in the one purchase it settles (the market decides for whom).
            guard let purchase = try entryID("purchase") else { throw fail("names no purchase") }
            action = .receive(from: [purchase])
        default:
            throw fail("is not a ledger entry (\(item.inner.type))")
        }
        self.init(id: item.id, type: item.inner.type, author: item.author, seq: item.seq, timeMs: item.timeMs, prev: try entryID("prev"), policy: policy, action: action)
    }
}
