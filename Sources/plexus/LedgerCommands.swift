import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore

/// The token policy as options of `group create` (a currency and a cap make a ledger).
struct PolicyOptions: ParsableArguments {
    @Option(name: .long, help: "The ledger's currency name (1-16 bytes); with --supply-cap, the group gets a ledger.")
    var currency: String?

    @Option(name: .customLong("supply-cap"), help: "Most tokens the treasury may ever mint.")
    var supplyCap: Int64?

    @Option(name: .long, help: "The treasury's agent id (default: this agent).")
    var treasury: String?

    @Option(name: .long, help: "Tokens the treasury pays each member added.")
    var faucet: Int64?

    @Option(name: .customLong("claim-reward"), help: "Tokens the treasury pays per claim a member publishes.")
    var claimReward: Int64?

    @Option(name: .customLong("claim-reward-daily-limit"), help: "Most claim rewards per member and UTC day, in tokens.")
    var claimRewardDailyLimit: Int64?

    @Option(name: .customLong("fee-bps"), help: "A transfer's fee in 1/100 % of its amount (0-10000), paid to the treasury.")
    var feeBasisPoints: Int64?

    @Option(name: .customLong("balance-cap"), help: "Most tokens an account other than the treasury may hold (0: none).")
    var balanceCap: Int64?

    /// The policy given, or nil when neither a currency nor a cap was.
    func request() throws(PlexusError) -> PolicyRequest? {
        guard currency != nil || supplyCap != nil else { return nil }
        guard let currency, let supplyCap else { throw PlexusError(.invalidArgument, "a ledger needs both --currency and --supply-cap") }
        return PolicyRequest(
            currency: currency, supplyCap: supplyCap, treasury: try treasury.map { text throws(PlexusError) in try AgentID.parse(text) },
            faucet: faucet, claimReward: claimReward, claimRewardDailyLimit: claimRewardDailyLimit, feeBasisPoints: feeBasisPoints,
            balanceCap: balanceCap)
    }
}

struct BalanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "balance", abstract: "An account's balance in a group's ledger, what it may receive, and its latest postings.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    @Argument(help: "The member's agent id (default: this agent).")
    var agent: String?

    @Option(name: .long, help: "Most postings shown (default 20).")
    var limit: Int = 20

    func run() async throws {
        try await Self.show(group: group, agent: agent, limit: limit, global: global)
    }

    /// Prints one account (`balance`, and `ledger --account`).
    static func show(group: String, agent: String?, limit: Int, global: GlobalOptions) async throws {
        try await reportingErrors(json: global.json) {
            let account = try await global.client().account(
                group: group, agent: try agent.map { text throws(PlexusError) in try AgentID.parse(text) }, limit: limit)
            if global.json { return Output.printJSON(account) }
            print("\(account.agent.short)  balance \(account.balance)\(account.frozenFrom.map { "  (frozen from seq \($0): a fork was proven)" } ?? "")")
            let incoming = account.receivable.reduce(0) { $0 + $1.amount }
            if incoming > 0 { print("  receivable \(incoming) (taken in by its node)") }
            for posting in account.postings { print("  " + describe(posting)) }
        }
    }
}

struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger", abstract: "A group's ledger: policy, supply, and every account's balance; or one account's postings.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    @Option(name: .long, help: "One account's history (an agent id) instead.")
    var account: String?

    func run() async throws {
        if let account { return try await BalanceCommand.show(group: group, agent: account, limit: 1000, global: global) }
        try await reportingErrors(json: global.json) {
            let ledger = try await global.client().ledger(group: group)
            if global.json { return Output.printJSON(ledger) }
            guard let policy = ledger.policy else { return print("no ledger: the group has no token policy (plexus policy \(group) --set …)") }
            print("\(policy.currency): minted \(ledger.minted) of \(policy.supplyCap), in flight \(ledger.inFlight), treasury \(policy.treasury.short)")
            print("  fee \(policy.feeBasisPoints) bps, faucet \(policy.faucet), claim reward \(policy.claimReward) (≤ \(policy.claimRewardDailyLimit)/day)\(policy.balanceCap.map { ", balance cap \($0)" } ?? "")")
            for account in ledger.accounts {
                print("  \(account.agent.short)  \(account.balance)\(account.receivable > 0 ? "  (+\(account.receivable) incoming)" : "")\(account.frozenFrom != nil ? "  frozen" : "")")
            }
            if ledger.waiting > 0 { print("  \(ledger.waiting) entries wait for entries not held yet") }
            for refused in ledger.refused { print("  refused \(refused.id.hex.prefix(12)): \(refused.reason)") }
        }
    }
}

struct MintCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mint", abstract: "Create tokens within the supply cap (the group's treasury only) and send them to AGENT.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    @Argument(help: "Who gets them: an agent id, or 'treasury' to keep them.")
    var agent: String

    @Argument(help: "Whole tokens.")
    var amount: Int64

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let to = agent == "treasury" ? nil : try AgentID.parse(agent)
            let posting = try await global.client().mint(group: group, MintRequest(amount: amount, to: to))
            if global.json { Output.printJSON(posting) } else { print(describe(posting)) }
        }
    }
}

struct TransferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer", abstract: "Send tokens to a member of a group; the fee goes to the treasury.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    @Argument(help: "The member's agent id.")
    var agent: String

    @Argument(help: "Whole tokens.")
    var amount: Int64

    @Option(name: .long, help: "A note for the recipient (at most 256 bytes).")
    var memo: String?

    @Option(name: .customLong("for"), help: "The id of the entry the transfer pays for.")
    var regarding: String?

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let posting = try await global.client().transfer(
                group: group,
                TransferRequest(
                    to: try AgentID.parse(agent), amount: amount, memo: memo,
                    regarding: try regarding.map { text throws(PlexusError) in try EntryID.parse(text) }))
            if global.json { Output.printJSON(posting) } else { print(describe(posting)) }
        }
    }
}

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Show a group's token policy, or change it (the owner; currency, cap and treasury stay).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    @Option(
        name: .customLong("set"),
        help: "KEY=VALUE, repeatable: currency, supply_cap, treasury, faucet, claim_reward, claim_reward_daily_limit, fee_basis_points, balance_cap.")
    var settings: [String] = []

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let client = try await global.client()
            var ledger = try await client.ledger(group: group)
            if !settings.isEmpty { ledger = try await client.setPolicy(group: group, try Self.request(settings, over: ledger.policy)) }
            if global.json { return Output.printJSON(ledger.policy) }
            guard let current = ledger.policy else { return print("no token policy (set one: --set currency=NAME --set supply_cap=N)") }
            print("currency \(current.currency), supply cap \(current.supplyCap), treasury \(current.treasury)")
            print("faucet \(current.faucet), claim reward \(current.claimReward) up to \(current.claimRewardDailyLimit)/day, fee \(current.feeBasisPoints) bps, balance cap \(current.balanceCap.map(String.init) ?? "none")")
        }
    }

    /// The policy `settings` make of `current` (or of nothing: then currency and supply_cap
    /// are needed).
    static func request(_ settings: [String], over current: PolicyView?) throws(PlexusError) -> PolicyRequest {
        var values: [String: String] = [:]
        for setting in settings {
            guard let equals = setting.firstIndex(of: "=") else { throw PlexusError(.invalidArgument, "--set takes KEY=VALUE, not '\(setting.prefix(40))'") }
            values[String(setting[..<equals])] = String(setting[setting.index(after: equals)...])
        }
        func amount(_ key: String) throws(PlexusError) -> Int64? {
            guard let text = values.removeValue(forKey: key) else { return nil }
            guard let number = Int64(text) else { throw PlexusError(.invalidArgument, "\(key) takes a whole number, not '\(text.prefix(40))'") }
            return number
        }
        let currency = values.removeValue(forKey: "currency") ?? current?.currency
        let supplyCap = try amount("supply_cap") ?? current?.supplyCap
        let treasury = try values.removeValue(forKey: "treasury").map { text throws(PlexusError) in try AgentID.parse(text) } ?? current?.treasury
        let request = PolicyRequest(
            currency: currency ?? "", supplyCap: supplyCap ?? 0, treasury: treasury, faucet: try amount("faucet") ?? current?.faucet,
            claimReward: try amount("claim_reward") ?? current?.claimReward,
            claimRewardDailyLimit: try amount("claim_reward_daily_limit") ?? current?.claimRewardDailyLimit,
            feeBasisPoints: try amount("fee_basis_points") ?? current?.feeBasisPoints, balanceCap: try amount("balance_cap") ?? current?.balanceCap)
        if let unknown = values.keys.sorted().first { throw PlexusError(.invalidArgument, "no policy setting '\(unknown.prefix(40))'") }
        guard currency != nil, supplyCap != nil else { throw PlexusError(.invalidArgument, "a first policy needs currency and supply_cap") }
        return request
    }
}

/// One line for a posting.
private func describe(_ posting: PostingView) -> String {
    let what: String
    switch posting.kind {
    case "mint": what = "minted \(posting.amount ?? posting.delta)"
    case "send": what = "sent \(posting.amount ?? 0) to \(posting.to?.short ?? "?") (fee \(posting.fee ?? 0))\(posting.memo.map { " \"\($0)\"" } ?? "")"
    case "lock": what = "locked \(posting.amount ?? -posting.delta) as a task's reward"
    case "buy": what = "locked \(posting.amount ?? -posting.delta) to buy an offer"
    case "claim": what = "claimed \(posting.delta) for a sale (the key is revealed to the buyer)"
    case "refund": what = "took back \(posting.delta) of a purchase never claimed"
    default: what = "received \(posting.delta) from \(posting.received?.count ?? 0) entr\(posting.received?.count == 1 ? "y" : "ies")"
    }
    return "\(posting.id.hex.prefix(12))  \(what)  → balance \(posting.balance)"
}
