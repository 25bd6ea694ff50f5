import Foundation

/// A private group's token ledger (DESIGN §9, PROTOCOL.md §14): the policy, balances as a
/// fold of the members' account chains, minting by the treasury and transfers with a fee.
/// `group` takes an id or a name, as in `GroupService`.
public protocol LedgerService: Sendable {
    /// The policy, the minted total, what is in flight and every account's balance.
    func ledger(group: String) async throws(PlexusError) -> LedgerView
    /// One account (this agent's when `agent` is nil): balance, what it may receive, and
    /// its latest postings.
    func account(group: String, agent: AgentID?, limit: Int?) async throws(PlexusError) -> AccountView
    /// The treasury creates tokens (within the supply cap) into its own account, and sends
    /// them on to `to` when given (then the send is returned).
    func mint(group: String, _ request: MintRequest) async throws(PlexusError) -> PostingView
    /// Sends tokens to a member; the fee goes to the treasury. The recipient's node takes
    /// them in by itself.
    func transfer(group: String, _ request: TransferRequest) async throws(PlexusError) -> PostingView
    /// The owner changes the policy (not its currency, cap or treasury), or sets the
    /// first one of a group created without.
    func setPolicy(group: String, _ request: PolicyRequest) async throws(PlexusError) -> LedgerView
}

/// A token policy as the API takes and shows it (PROTOCOL.md §14.1).
public struct PolicyRequest: Codable, Sendable, Equatable {
    public var currency: String
    public var supplyCap: Int64
    /// Default: the group's creator (at creation), the current treasury (later).
    public var treasury: AgentID?
    public var faucet: Int64?
    public var claimReward: Int64?
    public var claimRewardDailyLimit: Int64?
    public var feeBasisPoints: Int64?
    /// Nil or 0: no cap.
    public var balanceCap: Int64?

    public static let maxAmount: Int64 = 1 << 53

    public init(
        currency: String, supplyCap: Int64, treasury: AgentID? = nil, faucet: Int64? = nil, claimReward: Int64? = nil,
        claimRewardDailyLimit: Int64? = nil, feeBasisPoints: Int64? = nil, balanceCap: Int64? = nil
    ) {
        self.currency = currency
        self.supplyCap = supplyCap
        self.treasury = treasury
        self.faucet = faucet
        self.claimReward = claimReward
        self.claimRewardDailyLimit = claimRewardDailyLimit
        self.feeBasisPoints = feeBasisPoints
        self.balanceCap = balanceCap
    }

    public func validated() throws(PlexusError) -> PolicyRequest {
        guard !currency.isEmpty, currency.utf8.count <= 16 else { throw PlexusError(.invalidArgument, "a currency name is 1–16 bytes") }
        let amounts: [(String, Int64?)] = [
            ("supply_cap", supplyCap), ("faucet", faucet), ("claim_reward", claimReward),
            ("claim_reward_daily_limit", claimRewardDailyLimit), ("balance_cap", balanceCap),
        ]
        for (name, value) in amounts where (value ?? 0) < 0 || (value ?? 0) > Self.maxAmount {
            throw PlexusError(.invalidArgument, "\(name) must be a whole number from 0 to 2^53")
        }
        guard (0...10_000).contains(feeBasisPoints ?? 0) else {
            throw PlexusError(.invalidArgument, "fee_basis_points must be from 0 to 10000 (100 %)")
        }
        return self
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case currency, treasury, faucet
        case supplyCap = "supply_cap", claimReward = "claim_reward", claimRewardDailyLimit = "claim_reward_daily_limit"
        case feeBasisPoints = "fee_basis_points", balanceCap = "balance_cap"
    }

    /// Any key, to find the ones a policy does not have.
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes a policy, refusing fields it does not have (it is nested in bodies whose
    /// top level is checked elsewhere).
    public init(from decoder: any Decoder) throws {
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a policy has no field '\(unknown)'"))
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            currency: try container.decode(String.self, forKey: .currency), supplyCap: try container.decode(Int64.self, forKey: .supplyCap),
            treasury: try container.decodeIfPresent(AgentID.self, forKey: .treasury), faucet: try container.decodeIfPresent(Int64.self, forKey: .faucet),
            claimReward: try container.decodeIfPresent(Int64.self, forKey: .claimReward),
            claimRewardDailyLimit: try container.decodeIfPresent(Int64.self, forKey: .claimRewardDailyLimit),
            feeBasisPoints: try container.decodeIfPresent(Int64.self, forKey: .feeBasisPoints),
            balanceCap: try container.decodeIfPresent(Int64.self, forKey: .balanceCap))
    }
}

/// A policy in force, and the entry that set it.
public struct PolicyView: Codable, Sendable, Equatable {
    /// The `group.create` or `group.policy` entry: what ledger entries cite.
    public var id: EntryID
    public var currency: String
    public var supplyCap: Int64
    public var treasury: AgentID
    public var faucet: Int64
    public var claimReward: Int64
    public var claimRewardDailyLimit: Int64
    public var feeBasisPoints: Int64
    public var balanceCap: Int64?

    public init(
        id: EntryID, currency: String, supplyCap: Int64, treasury: AgentID, faucet: Int64, claimReward: Int64,
        claimRewardDailyLimit: Int64, feeBasisPoints: Int64, balanceCap: Int64?
    ) {
        self.id = id
        self.currency = currency
        self.supplyCap = supplyCap
        self.treasury = treasury
        self.faucet = faucet
        self.claimReward = claimReward
        self.claimRewardDailyLimit = claimRewardDailyLimit
        self.feeBasisPoints = feeBasisPoints
        self.balanceCap = balanceCap
    }

    enum CodingKeys: String, CodingKey {
        case id, currency, treasury, faucet
        case supplyCap = "supply_cap", claimReward = "claim_reward", claimRewardDailyLimit = "claim_reward_daily_limit"
        case feeBasisPoints = "fee_basis_points", balanceCap = "balance_cap"
    }
}

/// A group's ledger at a glance.
public struct LedgerView: Codable, Sendable, Equatable {
    public var group: EntryID
    /// Nil when the group has no policy (and so no ledger).
    public var policy: PolicyView?
    public var minted: Int64
    /// Sent and not yet received.
    public var inFlight: Int64
    /// Every account with entries or something to receive, largest balance first.
    public var accounts: [AccountSummaryView]
    /// Ledger entries that do not count, and why.
    public var refused: [VoidControlView]
    /// Ledger entries waiting for an entry not held yet.
    public var waiting: Int

    public init(
        group: EntryID, policy: PolicyView?, minted: Int64, inFlight: Int64, accounts: [AccountSummaryView],
        refused: [VoidControlView], waiting: Int
    ) {
        self.group = group
        self.policy = policy
        self.minted = minted
        self.inFlight = inFlight
        self.accounts = accounts
        self.refused = refused
        self.waiting = waiting
    }

    enum CodingKeys: String, CodingKey {
        case group, policy, minted, accounts, refused, waiting
        case inFlight = "in_flight"
    }
}

/// One account in the ledger's list.
public struct AccountSummaryView: Codable, Sendable, Equatable {
    public var agent: AgentID
    public var balance: Int64
    /// What it may still take in.
    public var receivable: Int64
    /// Set when a fork of its feed was proven: its entries from this seq on do not count.
    public var frozenFrom: UInt64?

    public init(agent: AgentID, balance: Int64, receivable: Int64, frozenFrom: UInt64?) {
        self.agent = agent
        self.balance = balance
        self.receivable = receivable
        self.frozenFrom = frozenFrom
    }

    enum CodingKeys: String, CodingKey {
        case agent, balance, receivable
        case frozenFrom = "frozen_from"
    }
}

/// One account in detail.
public struct AccountView: Codable, Sendable, Equatable {
    public var agent: AgentID
    public var balance: Int64
    public var frozenFrom: UInt64?
    /// What it may still take in: the entry that left it, and how much.
    public var receivable: [ReceivableView]
    /// Its latest counted postings, newest first.
    public var postings: [PostingView]

    public init(agent: AgentID, balance: Int64, frozenFrom: UInt64?, receivable: [ReceivableView], postings: [PostingView]) {
        self.agent = agent
        self.balance = balance
        self.frozenFrom = frozenFrom
        self.receivable = receivable
        self.postings = postings
    }

    enum CodingKeys: String, CodingKey {
        case agent, balance, receivable, postings
        case frozenFrom = "frozen_from"
    }
}

public struct ReceivableView: Codable, Sendable, Equatable {
    public var from: EntryID
    public var amount: Int64

    public init(from: EntryID, amount: Int64) {
        self.from = from
        self.amount = amount
    }
}

/// A counted ledger entry and what it did to its author's balance.
public struct PostingView: Codable, Sendable, Equatable {
    public var id: EntryID
    public var author: AgentID
    /// `mint`, `send` or `receive`.
    public var kind: String
    public var delta: Int64
    /// The author's balance after it.
    public var balance: Int64
    public var timeMs: Int64
    /// For a send.
    public var to: AgentID?
    public var amount: Int64?
    public var fee: Int64?
    public var memo: String?
    /// The entry a send pays for (a claim, a task).
    public var regarding: EntryID?
    /// For a receipt: the entries it took in.
    public var received: [EntryID]?

    public init(
        id: EntryID, author: AgentID, kind: String, delta: Int64, balance: Int64, timeMs: Int64, to: AgentID? = nil,
        amount: Int64? = nil, fee: Int64? = nil, memo: String? = nil, regarding: EntryID? = nil, received: [EntryID]? = nil
    ) {
        self.id = id
        self.author = author
        self.kind = kind
        self.delta = delta
        self.balance = balance
        self.timeMs = timeMs
        self.to = to
        self.amount = amount
        self.fee = fee
        self.memo = memo
        self.regarding = regarding
        self.received = received
    }

    enum CodingKeys: String, CodingKey {
        case id, author, kind, delta, balance, to, amount, fee, memo, received
        case timeMs = "time_ms", regarding = "for"
    }
}

/// The body of `POST /v1/groups/{group}/ledger/mint`.
public struct MintRequest: Codable, Sendable, Equatable {
    public var amount: Int64
    /// A member to send the new tokens to at once (default: they stay with the treasury).
    public var to: AgentID?

    public init(amount: Int64, to: AgentID? = nil) {
        self.amount = amount
        self.to = to
    }

    public func validated() throws(PlexusError) -> MintRequest {
        guard amount >= 1, amount <= PolicyRequest.maxAmount else { throw PlexusError(.invalidArgument, "amount must be a whole number from 1 to 2^53") }
        return self
    }
}

/// The body of `POST /v1/groups/{group}/ledger/transfer`.
public struct TransferRequest: Codable, Sendable, Equatable {
    public var to: AgentID
    public var amount: Int64
    public var memo: String?
    /// The entry the transfer pays for, if any.
    public var regarding: EntryID?

    public static let maxMemoBytes = 256

    public init(to: AgentID, amount: Int64, memo: String? = nil, regarding: EntryID? = nil) {
        self.to = to
        self.amount = amount
        self.memo = memo
        self.regarding = regarding
    }

    public func validated() throws(PlexusError) -> TransferRequest {
        guard amount >= 1, amount <= PolicyRequest.maxAmount else { throw PlexusError(.invalidArgument, "amount must be a whole number from 1 to 2^53") }
        guard (memo?.utf8.count ?? 0) <= Self.maxMemoBytes else { throw PlexusError(.tooLarge, "a memo is at most \(Self.maxMemoBytes) bytes") }
        return self
    }

    enum CodingKeys: String, CodingKey {
        case to, amount, memo
        case regarding = "for"
    }
}
