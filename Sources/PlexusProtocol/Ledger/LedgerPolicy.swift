import PlexusCore

/// A group's token policy (PROTOCOL.md §14.1): fixed at `group.create`; the owner changes
/// what may change with `group.policy`. The currency, the supply cap and the treasury never
/// change, so only one account ever mints and the cap is checked along one chain.
public struct LedgerPolicy: Sendable, Equatable, Codable {
    /// The unit's name, 1–16 bytes (e.g. "credits").
    public var currency: String
    /// Most tokens the treasury may ever mint.
    public var supplyCap: Int64
    /// The one account that mints, pays faucets and rewards, and collects fees.
    public var treasury: AgentID
    /// Paid by the treasury to each member it sees added.
    public var faucet: Int64
    /// Paid by the treasury for each claim a member publishes…
    public var claimReward: Int64
    /// …up to this much per member and UTC day (by the treasury's clock).
    public var claimRewardDailyLimit: Int64
    /// The fee of a transfer, in hundredths of a percent of its amount (rounded down),
    /// paid by the sender to the treasury on top of the amount.
    public var feeBasisPoints: Int64
    /// Most tokens an account other than the treasury may hold (nil: no cap): a receipt
    /// that would pass it waits.
    public var balanceCap: Int64?

    /// Largest amount anywhere: integers stay exact in every JSON reader (2^53).
    public static let maxAmount: Int64 = 1 << 53
    public static let maxCurrencyBytes = 16

    public init(
        currency: String, supplyCap: Int64, treasury: AgentID, faucet: Int64 = 0, claimReward: Int64 = 0,
        claimRewardDailyLimit: Int64 = 0, feeBasisPoints: Int64 = 0, balanceCap: Int64? = nil
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

    /// Why the policy is not acceptable, or nil.
    public var problem: String? {
        if currency.isEmpty || currency.utf8.count > Self.maxCurrencyBytes { return "a currency name is 1–\(Self.maxCurrencyBytes) bytes" }
        for (name, value) in [("supply_cap", supplyCap), ("faucet", faucet), ("claim_reward", claimReward),
                              ("claim_reward_daily_limit", claimRewardDailyLimit), ("balance_cap", balanceCap ?? 0)]
        where value < 0 || value > Self.maxAmount {
            return "\(name) must be between 0 and 2^53"
        }
        if feeBasisPoints < 0 || feeBasisPoints > 10_000 { return "fee_basis_points must be between 0 and 10000" }
        return nil
    }

    /// Whether `next` may follow this policy: the currency, cap and treasury stay.
    public func admits(_ next: LedgerPolicy) -> Bool {
        next.currency == currency && next.supplyCap == supplyCap && next.treasury == treasury && next.problem == nil
    }

    /// The fee of a transfer of `amount`.
    public func fee(for amount: Int64) -> Int64 {
        // amount ≤ 2^53 and bps ≤ 10^4: the product stays below 2^67 only in theory; go
        // through a division first where it could overflow.
        let (product, overflow) = amount.multipliedReportingOverflow(by: feeBasisPoints)
        return overflow ? amount / 10_000 * feeBasisPoints : product / 10_000
    }
}
