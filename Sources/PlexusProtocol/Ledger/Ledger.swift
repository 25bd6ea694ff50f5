import PlexusCore

/// Why a ledger entry does not count (PROTOCOL.md §14.3).
public struct LedgerRefusal: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, Codable {
        /// Not a well-formed ledger entry.
        case malformed
        /// Only the treasury mints.
        case notTreasury
        /// The mint would take the supply past the cap.
        case overCap
        /// The account does not hold what the entry spends.
        case insufficient
        /// The fee is not the policy's fee for the amount.
        case wrongFee
        /// It cites a policy older than one its author cited before.
        case stalePolicy
        /// Another entry of the same author names the same previous entry and counts.
        case chainConflict
        /// Its author's feed forked at or below its seq: the account is frozen there.
        case frozen
        /// It receives something that is not there for its author (or already received).
        case notReceivable
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// A group's token ledger (PROTOCOL.md §14): account chains folded into balances. Pure
/// and deterministic: the same held entries give the same ledger in any order of arrival.
///
/// Each member's ledger entries in the group form its **account chain**, linked by `prev`.
/// A chain entry changes only its own author's balance, so whether it counts depends on
/// its own chain and on the entries it names (a receipt names the sends it takes in):
///
/// - `ledger.mint` (treasury only): +amount, while the minted total stays within the cap.
/// - `ledger.send`: −(amount + fee), when the account holds it and the fee is the cited
///   policy's; the amount becomes receivable by `to`, the fee by the treasury.
/// - `ledger.receive`: + what each named entry left for the author and it has not taken
///   yet; an item that would pass the balance cap waits (stays receivable).
/// - `board.create` with a reward: −reward into escrow, held there until the board settles
///   the task (`escrows`: accepted, cancelled or ruled); then it is receivable by the payee.
///
/// Of two chain entries naming the same `prev`, the one with the lower id counts (an
/// honest node never writes two). A proven fork of the author's feed at seq s freezes the
/// account: its chain entries from s on do not count, on every node. Chain entries whose
/// `prev`, policy or named entries are not held yet wait (`waiting`); so does the rest of
/// that chain. Balances never go below zero, and minted = balances + what is in flight.
public struct Ledger: Sendable {
    /// One account as the fold leaves it.
    public struct Account: Sendable, Equatable {
        public var balance: Int64 = 0
        /// The feed seq from which the account's entries do not count (a fork was proven).
        public var frozenFrom: UInt64?
        /// Its counted chain entries, in chain order.
        public var postings: [EntryID] = []
        /// What it may still receive: the entry that left it, and how much.
        public var receivable: [EntryID: Int64] = [:]

        /// An account with nothing in it.
        public init() {}
    }

    /// A counted chain entry and what it did to its author's balance.
    public struct Posting: Sendable, Equatable {
        public let move: LedgerMove
        /// The change to the author's balance.
        public let delta: Int64
        /// The balance after it.
        public let balance: Int64
        /// For a receipt: the entries it took in (others named waited or were not there).
        public let received: [EntryID]
    }

    public fileprivate(set) var accounts: [AgentID: Account] = [:]
    public fileprivate(set) var postings: [EntryID: Posting] = [:]
    public fileprivate(set) var refused: [EntryID: LedgerRefusal] = [:]
    /// Chain entries that wait for an entry not held yet (their prev, their policy, or an
    /// entry they receive from), and the chain entries behind them.
    public fileprivate(set) var waiting: Set<EntryID> = []
    /// Tokens minted so far.
    public fileprivate(set) var minted: Int64 = 0
    /// Rewards locked by counted board tasks whose board has not settled them, by task.
    public fileprivate(set) var escrowed: [EntryID: Int64] = [:]
    /// Each author's last chain entry (counted or not): where its next entry goes.
    public fileprivate(set) var heads: [AgentID: EntryID] = [:]

    public init() {}

    /// The balance of `agent` (0 for an agent without entries).
    public func balance(of agent: AgentID) -> Int64 {
        accounts[agent]?.balance ?? 0
    }

    /// Tokens sent or released but not yet received (by anyone), and tokens in escrow: what
    /// balances lack of the minted total.
    public var inFlight: Int64 {
        accounts.values.reduce(0) { $0 + $1.receivable.values.reduce(0, +) } + escrowed.values.reduce(0, +)
    }

    /// Folds `items` (a group's opened entries, any order; other types ignored) under the
    /// group's counted `policies` (in the roster's fold order), with the feeds proven forked
    /// (`forks`: author → the seq where the fork is) and the board tasks settled so far
    /// (`escrows`: task → whom its reward goes to, `BoardTask.payee`).
    public static func fold(
        _ items: [GroupItem], policies: [(id: EntryID, policy: LedgerPolicy)], forks: [AgentID: UInt64] = [:],
        escrows: [EntryID: AgentID] = [:]
    ) -> Ledger {
        LedgerFold(items, policies: policies, forks: forks, escrows: escrows).ledger
    }
}

/// The work of `Ledger.fold`, kept so that entries arriving later can be folded in without
/// folding everything again: chains placed, then entries settled as what they depend on
/// settles. Settling does not depend on the order in which entries settle (a receipt waits
/// for what it receives, and only the treasury mints), so a fold extended with entries that
/// continue their chains equals the fold of all of them at once.
public struct LedgerFold: Sendable {
    /// The ledger as folded so far.
    public fileprivate(set) var ledger = Ledger()
    let policies: [EntryID: (order: Int, policy: LedgerPolicy)]
    let forks: [AgentID: UInt64]
    /// The settled escrows folded under (task or purchase → payee); grows by `release`.
    private(set) var escrows: [EntryID: AgentID]
    /// Entries that receipts named and did not take (nothing there for their author, or the
    /// balance cap): if one of them is released from escrow later, a receipt that was
    /// refused or took less might have taken it, so only a whole fold tells.
    var missed: Set<EntryID> = []
    /// Authors with chain entries that could not be placed (their prev is not held, or it
    /// has a later entry already): extending those chains needs a whole fold.
    var unplaced: [AgentID: Set<EntryID>] = [:]
    /// Each author's chain, in `prev` order.
    var chains: [AgentID: [LedgerMove]] = [:]
    /// Where each chain's settling stands.
    var positions: [AgentID: Int] = [:]
    /// Chain entries decoded (a second copy of one is ignored), and those settled.
    var decoded: Set<EntryID> = []
    var settled: Set<EntryID> = []
    /// The index of the latest policy each author cited.
    var cited: [AgentID: Int] = [:]

    /// Folds `items` as `Ledger.fold` does.
    public init(
        _ items: [GroupItem], policies: [(id: EntryID, policy: LedgerPolicy)], forks: [AgentID: UInt64] = [:],
        escrows: [EntryID: AgentID] = [:]
    ) {
        var byID: [EntryID: (order: Int, policy: LedgerPolicy)] = [:]
        for (order, entry) in policies.enumerated() where byID[entry.id] == nil { byID[entry.id] = (order, entry.policy) }
        self.policies = byID
        self.forks = forks
        self.escrows = escrows
        place(items)
        settle()
        for (author, from) in forks where ledger.accounts[author] != nil { ledger.accounts[author]?.frozenFrom = from }
    }

    /// How the fold would take `item`, the author's next chain entry, without changing this
    /// fold or copying it: the entry is folded into a scratch fold holding only what it can
    /// touch (its author's account, the minted total, what it receives from). The returned
    /// ledger has the entry's posting or refusal (or lists it waiting). Nil when the author's
    /// chain is not fully settled or `item` does not continue it: then extend a copy.
    ///
    /// `escrows`, when given, are the settled escrows as they will be once the entry is
    /// written (a market claim or refund settles its purchase as it is written): what they
    /// release to the author from an escrow this fold holds is receivable in the scratch.
    public func judge(_ item: GroupItem, escrows updated: [EntryID: AgentID]? = nil) -> Ledger? {
        guard LedgerEntryType.isChainEntry(item), let move = try? LedgerMove(item), unplaced[move.author] == nil,
              let chain = chains[move.author], positions[move.author] == chain.count, let last = chain.last,
              move.prev == last.id
        else { return nil }
        let updated = updated ?? escrows
        guard escrows.allSatisfy({ updated[$0.key] == $0.value }) else { return nil }
        var scratch = LedgerFold(policies: policies, forks: forks, escrows: updated)
        scratch.ledger.minted = ledger.minted
        scratch.ledger.accounts[move.author] = ledger.accounts[move.author]
        scratch.ledger.heads[move.author] = last.id
        scratch.chains[move.author] = [last]
        scratch.positions[move.author] = 1
        scratch.cited[move.author] = cited[move.author]
        if case .receive(let sources) = move.action {
            for source in sources {
                if settled.contains(source) { scratch.settled.insert(source) }
                if let refusal = ledger.refused[source] { scratch.ledger.refused[source] = refusal }
                if escrows[source] == nil, let payee = updated[source], let amount = ledger.escrowed[source] {
                    guard !missed.contains(source) else { return nil }
                    if payee == move.author { scratch.ledger.accounts[move.author, default: Ledger.Account()].receivable[source] = amount }
                }
            }
        }
        guard scratch.extend(with: [item]) else { return nil }
        return scratch.ledger
    }

    /// Takes in escrows settled since the fold was made (the board settled a task, the
    /// market a purchase): `updated` holds every escrow this fold was made with, unchanged,
    /// and more. What this fold holds in escrow under a newly settled id becomes receivable
    /// by its payee; a lock not folded yet is released when it is. Returns false, changing
    /// nothing, when that would not give what a whole fold under `updated` gives (a
    /// settlement changed, or a receipt already folded named a newly settled id): then
    /// fold again.
    public mutating func release(_ updated: [EntryID: AgentID]) -> Bool {
        guard escrows.allSatisfy({ updated[$0.key] == $0.value }) else { return false }
        let released = updated.filter { escrows[$0.key] == nil }
        guard !released.keys.contains(where: missed.contains) else { return false }
        escrows = updated
        for (id, payee) in released {
            guard let amount = ledger.escrowed.removeValue(forKey: id) else { continue }
            ledger.accounts[payee, default: Ledger.Account()].receivable[id, default: 0] += amount
        }
        return true
    }

    /// An empty fold under these inputs, for `judge`.
    private init(policies: [EntryID: (order: Int, policy: LedgerPolicy)], forks: [AgentID: UInt64], escrows: [EntryID: AgentID]) {
        self.policies = policies
        self.forks = forks
        self.escrows = escrows
    }

    /// Folds in entries that arrived since (under the same policies, forks and settled
    /// tasks). Returns false when one of them does not continue its author's chain as the
    /// fold holds it (it fills a gap, or competes with an entry placed already): the fold is
    /// then left part-way and must be made again from every entry.
    public mutating func extend(with items: [GroupItem]) -> Bool {
        var added = false
        for item in items {
            guard let move = decode(item) else { continue }
            let last = chains[move.author]?.last
            guard unplaced[move.author] == nil, move.prev == last?.id, last.map({ move.seq > $0.seq }) ?? true else { return false }
            decoded.insert(move.id)
            chains[move.author, default: []].append(move)
            if positions[move.author] == nil { positions[move.author] = 0 }
            ledger.heads[move.author] = move.id
            added = true
        }
        if added {
            settle()
            for (author, from) in forks where ledger.accounts[author] != nil { ledger.accounts[author]?.frozenFrom = from }
        }
        return true
    }

    /// A chain entry not seen before, decoded; nil for anything else, and for an entry
    /// refused here (`malformed`, or `frozen` when its author's feed forked at or below it).
    private mutating func decode(_ item: GroupItem) -> LedgerMove? {
        guard LedgerEntryType.isChainEntry(item), !decoded.contains(item.id), ledger.refused[item.id] == nil else { return nil }
        let move: LedgerMove
        do {
            move = try LedgerMove(item)
        } catch {
            ledger.refused[item.id] = LedgerRefusal(.malformed, error.message)
            return nil
        }
        if let from = forks[move.author], move.seq >= from {
            ledger.refused[move.id] = LedgerRefusal(.frozen, "its author's feed forked at seq \(from)")
            ledger.accounts[move.author, default: Ledger.Account()].frozenFrom = from
            return nil
        }
        return move
    }

    /// Decodes the chain entries and links each author's chain from its first entry.
    mutating func place(_ items: [GroupItem]) {
        var byAuthor: [AgentID: [EntryID?: [LedgerMove]]] = [:]
        for item in items {
            guard let move = decode(item) else { continue }
            decoded.insert(move.id)
            byAuthor[move.author, default: [:]][move.prev, default: []].append(move)
        }
        for (author, children) in byAuthor {
            var chain: [LedgerMove] = []
            var previous: LedgerMove?
            while let candidates = children[previous?.id] {
                // An entry after its predecessor in the feed; of several, the lowest id.
                let ordered = candidates.sorted { $0.id.bytes.lexicographicallyPrecedes($1.id.bytes) }
                var next: LedgerMove?
                for move in ordered {
                    if let previous, move.seq <= previous.seq {
                        ledger.refused[move.id] = LedgerRefusal(.malformed, "comes before its prev in its author's feed")
                    } else if let next {
                        ledger.refused[move.id] = LedgerRefusal(.chainConflict, "names the same prev as \(next.id.hex.prefix(12)), which counts")
                    } else {
                        next = move
                    }
                }
                guard let next else { break }
                chain.append(next)
                previous = next
            }
            chains[author] = chain
            positions[author] = 0
            if let last = chain.last { ledger.heads[author] = last.id }
            let placed = Set(chain.map(\.id))
            for list in children.values {
                for move in list where !placed.contains(move.id) && ledger.refused[move.id] == nil {
                    unplaced[author, default: []].insert(move.id)
                }
            }
        }
    }

    /// Settles chain entries in chain order, each once what it depends on is settled: a
    /// chain that meets an entry it waits for stops there and goes on when that entry
    /// settles (linear in the entries). What is left waits.
    mutating func settle() {
        var ready = chains.keys.sorted()
        var blocked: [EntryID: [AgentID]] = [:]
        while let author = ready.popLast() {
            guard let chain = chains[author] else { continue }
            while let position = positions[author], position < chain.count {
                let move = chain[position]
                if let blocker = blocker(of: move) {
                    blocked[blocker, default: []].append(author)
                    break
                }
                apply(move)
                settled.insert(move.id)
                positions[author] = position + 1
                ready += blocked.removeValue(forKey: move.id) ?? []
            }
        }
        ledger.waiting = unplaced.values.reduce(into: []) { $0.formUnion($1) }
        for (author, chain) in chains {
            for move in chain.dropFirst(positions[author] ?? 0) { ledger.waiting.insert(move.id) }
        }
    }

    /// What `move` still waits for: its policy when not known, or an entry it receives
    /// from that has not settled (nil: it can settle now).
    func blocker(of move: LedgerMove) -> EntryID? {
        guard policies[move.policy] != nil else { return move.policy }
        if case .receive(let sources) = move.action {
            return sources.first { !settled.contains($0) && ledger.refused[$0] == nil }
        }
        return nil
    }

    mutating func apply(_ move: LedgerMove) {
        guard let citation = policies[move.policy] else { return }
        let (order, policy) = (citation.order, citation.policy)
        if let last = cited[move.author], order < last {
            ledger.refused[move.id] = LedgerRefusal(.stalePolicy, "cites a policy older than one its author cited before")
            return
        }
        // Taken out while it changes, so its postings and receivables are not copied on
        // every entry (which made a fold quadratic in the length of a chain); put back
        // when the entry counts or the account existed.
        let existed = ledger.accounts[move.author] != nil
        var account = ledger.accounts.removeValue(forKey: move.author) ?? Ledger.Account()
        var counted = false
        defer { if counted || existed { ledger.accounts[move.author] = account } }
        var delta: Int64 = 0
        var received: [EntryID] = []
        switch move.action {
        case .mint(let amount):
            guard move.author == policy.treasury else {
                ledger.refused[move.id] = LedgerRefusal(.notTreasury, "only the treasury \(policy.treasury.short) mints")
                return
            }
            guard amount <= policy.supplyCap - ledger.minted else {
                ledger.refused[move.id] = LedgerRefusal(.overCap, "would mint past the cap of \(policy.supplyCap) (minted \(ledger.minted))")
                return
            }
            ledger.minted += amount
            delta = amount
        case .send(let to, let amount, let fee, _, _):
            // The treasury pays no fee (it would pay it to itself).
            let due = move.author == policy.treasury ? 0 : policy.fee(for: amount)
            guard fee == due else {
                ledger.refused[move.id] = LedgerRefusal(.wrongFee, "pays a fee of \(fee); the policy asks \(due)")
                return
            }
            guard amount + fee <= account.balance else {
                ledger.refused[move.id] = LedgerRefusal(.insufficient, "spends \(amount + fee) of a balance of \(account.balance)")
                return
            }
            delta = -(amount + fee)
            ledger.accounts[to, default: Ledger.Account()].receivable[move.id, default: 0] += amount
            // Neither is the sender (`to` is another agent; a fee is not the treasury's), so
            // `account` is still the sender's record.
            if fee > 0 { ledger.accounts[policy.treasury, default: Ledger.Account()].receivable[move.id, default: 0] += fee }
        case .receive(let sources):
            for source in sources {
                // Taking an item removes it, so nothing is taken twice.
                guard let amount = account.receivable[source] else {
                    missed.insert(source)
                    continue
                }
                if move.author != policy.treasury, let cap = policy.balanceCap, account.balance + delta + amount > cap {
                    missed.insert(source)
                    continue
                }
                delta += amount
                received.append(source)
                account.receivable.removeValue(forKey: source)
            }
            guard !received.isEmpty else {
                ledger.refused[move.id] = LedgerRefusal(
                    .notReceivable, "receives nothing that is there for its author (or all of it would pass the balance cap)")
                return
            }
        case .lock(let amount):
            guard amount <= account.balance else {
                ledger.refused[move.id] = LedgerRefusal(.insufficient, "locks a reward of \(amount) with a balance of \(account.balance)")
                return
            }
            delta = -amount
            // The task is this entry. Settled by the board: receivable by the payee (which
            // may be the author: then `account` takes it in below); otherwise held.
            if let payee = escrows[move.id] {
                if payee == move.author {
                    account.receivable[move.id, default: 0] += amount
                } else {
                    ledger.accounts[payee, default: Ledger.Account()].receivable[move.id, default: 0] += amount
                }
            } else {
                ledger.escrowed[move.id] = amount
            }
        }
        cited[move.author] = order
        account.balance += delta
        account.postings.append(move.id)
        counted = true
        ledger.postings[move.id] = Ledger.Posting(move: move, delta: delta, balance: account.balance, received: received)
    }
}
