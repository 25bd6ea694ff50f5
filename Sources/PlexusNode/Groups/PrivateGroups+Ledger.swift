import Foundation
import PlexusCore
import PlexusProtocol

/// What a ledger fold depends on besides the entries: while none of it changes, entries
/// that arrive are folded into the fold kept, not folded again with everything.
struct LedgerStamp: Equatable {
    var policies: [EntryID]
    var forks: [AgentID: UInt64]
    var escrows: [EntryID: AgentID]
}

/// A group's ledger fold as kept between arrivals, and how much of the log it covers.
struct FoldedLedger {
    var stamp: LedgerStamp
    var fold: LedgerFold
    /// The log's length when folded, and its last item then (the log only grows, but an
    /// entry opened late is sorted in by cursor: then the prefix differs and all is folded).
    var count: Int
    var last: EntryID?
    /// The log's count of board and market entries and the roster's heads when the
    /// escrows in `stamp` were folded: while both are the same, so are the escrows.
    var settlements: Int
    var rosterHeads: [EntryID]
}

/// A group's token ledger (PROTOCOL.md §14): balances folded from the members' account
/// chains, the treasury's minting, transfers, and what a node does by itself: take in what
/// was sent to its agent, and, on the treasury's node, pay the faucet and claim rewards.
extension PrivateGroups {
    /// Most items one automatic receipt takes in, and most payments the treasury makes in
    /// one pass (the rest follow in the next).
    static let maxPaymentsPerPass = 64

    // MARK: - Reading

    func ledger(_ reference: String) async throws(PlexusError) -> LedgerView {
        let group = try resolve(reference)
        let ledger = try await ledgerState(of: group)
        let accounts = ledger.accounts.map { agent, account in
            AccountSummaryView(
                agent: agent, balance: account.balance, receivable: account.receivable.values.reduce(0, +), frozenFrom: account.frozenFrom)
        }.sorted { ($0.balance, $1.agent) > ($1.balance, $0.agent) }
        return LedgerView(
            group: group.membership.id, policy: Self.policyView(of: group), minted: ledger.minted, inFlight: ledger.inFlight,
            accounts: accounts,
            refused: ledger.refused.map { VoidControlView(id: $0.key, reason: "\($0.value.kind.rawValue): \($0.value.message)") }
                .sorted { $0.id.hex < $1.id.hex },
            waiting: ledger.waiting.count)
    }

    func account(_ reference: String, agent: AgentID?, limit: Int?) async throws(PlexusError) -> AccountView {
        let group = try resolve(reference)
        let limit = limit ?? 50
        guard (1...1000).contains(limit) else { throw PlexusError(.invalidArgument, "limit must be from 1 to 1000") }
        let ledger = try await ledgerState(of: group)
        let agent = agent ?? key.id
        let account = ledger.accounts[agent] ?? Ledger.Account()
        let postings = account.postings.suffix(limit).reversed().compactMap { ledger.postings[$0].map(Self.view) }
        return AccountView(
            agent: agent, balance: account.balance, frozenFrom: account.frozenFrom,
            receivable: account.receivable.map { ReceivableView(from: $0.key, amount: $0.value) }.sorted { $0.from.hex < $1.from.hex },
            postings: postings)
    }

    // MARK: - Writing

    // The writing calls below read the group in a helper that returns only what the write
    // needs: a copy of the group held across the write would make it copy its log.

    func mint(_ reference: String, _ request: MintRequest) async throws(PlexusError) -> PostingView {
        let request = try request.validated()
        let id = try mintTarget(reference, request)
        let minted = try await writeLedger(LedgerEntryType.mint, ["amount": .integer(request.amount)], in: id)
        guard let to = request.to, to != key.id else { return minted }
        return try await transfer(reference, TransferRequest(to: to, amount: request.amount, memo: "minted"))
    }

    func transfer(_ reference: String, _ request: TransferRequest) async throws(PlexusError) -> PostingView {
        let (id, fields) = try transferFields(reference, try request.validated())
        return try await writeLedger(LedgerEntryType.send, fields, in: id)
    }

    private func mintTarget(_ reference: String, _ request: MintRequest) throws(PlexusError) -> EntryID {
        let group = try resolve(reference)
        if let to = request.to, to != key.id, group.roster.members[to] == nil {
            throw PlexusError(.rejected, "\(to.short) is not a member of \(group.membership.name)")
        }
        return group.membership.id
    }

    private func transferFields(_ reference: String, _ request: TransferRequest) throws(PlexusError) -> (EntryID, [String: JSONValue]) {
        let group = try resolve(reference)
        guard request.to != key.id else { throw PlexusError(.invalidContent, "a transfer goes to another agent") }
        guard group.roster.members[request.to] != nil else {
            throw PlexusError(.rejected, "\(request.to.short) is not a member of \(group.membership.name)")
        }
        guard let policy = group.roster.policy else { throw Self.noLedger(group) }
        var fields: [String: JSONValue] = [
            "to": .string(request.to.hex), "amount": .integer(request.amount),
            "fee": .integer(key.id == policy.treasury ? 0 : policy.fee(for: request.amount)),
        ]
        if let memo = request.memo { fields["memo"] = .string(memo) }
        if let regarding = request.regarding { fields["for"] = .string(regarding.hex) }
        return (group.membership.id, fields)
    }

    func setPolicy(_ reference: String, _ request: PolicyRequest) async throws(PlexusError) -> LedgerView {
        let request = try request.validated()
        let group = try resolve(reference)
        let treasury = request.treasury ?? group.roster.policy?.treasury ?? key.id
        let wire = try Self.wirePolicy(request, treasury: treasury)
        let policy = LedgerPolicy(
            currency: request.currency, supplyCap: request.supplyCap, treasury: treasury, faucet: request.faucet ?? 0,
            claimReward: request.claimReward ?? 0, claimRewardDailyLimit: request.claimRewardDailyLimit ?? 0,
            feeBasisPoints: request.feeBasisPoints ?? 0, balanceCap: (request.balanceCap ?? 0) == 0 ? nil : request.balanceCap)
        if let current = group.roster.policy, !current.admits(policy) {
            throw PlexusError(.rejected, "a policy keeps the group's currency, supply cap and treasury (\(current.currency), \(current.supplyCap), \(current.treasury.short))")
        }
        guard group.roster.permits(.setPolicy(policy), by: key.id) else {
            throw PlexusError(.forbidden, "only the owner of \(group.membership.name) sets its policy")
        }
        try await publishControl(GroupEntryType.policy, in: group) { $0.policy = wire }
        return try await ledger(group.membership.id.hex)
    }

    /// Signs a chain entry of this agent after its last one, once the fold would count it.
    /// One at a time per group, so each names the one before.
    func writeLedger(_ type: String, _ fields: [String: JSONValue], in id: EntryID) async throws(PlexusError) -> PostingView {
        await takeLedgerTurn(id)
        defer { giveLedgerTurn(id) }
        let content = try await judgedLedgerContent(type, fields, in: id)
        // Sealed by the group's id: no copy of the group is held while it takes the entry
        // in, so its log changes in place.
        let stored = try await seal(GroupInner(type: type, content: .object(content)), expiresMs: nil, in: id)
        guard let current = groups[id], let posting = try await ledgerState(of: current).postings[stored.entry.id] else {
            throw PlexusError(.internal, "the ledger entry just written does not count")
        }
        return Self.view(posting)
    }

    /// The content of this agent's next chain entry of `type` in group `id` (`fields` with
    /// its prev and policy), once the fold, given it, would count it; refused otherwise.
    private func judgedLedgerContent(
        _ type: String, _ fields: [String: JSONValue], in id: EntryID
    ) async throws(PlexusError) -> [String: JSONValue] {
        guard let current = groups[id] else { throw PlexusError(.notFound, "the group was left") }
        guard let policy = current.roster.policies.last else { throw Self.noLedger(current) }
        guard (current.roster.members[key.id] ?? .reader) >= .member else {
            throw PlexusError(.forbidden, "this agent may not write in \(current.membership.name)")
        }
        var fold = try await ledgerFold(of: current)
        var content = fields
        content["policy"] = .string(policy.id.hex)
        content["prev"] = fold.ledger.heads[key.id].map { .string($0.hex) } ?? .null
        // Judged as the fold will judge it, before it is signed.
        let trialID = EntryID(hashing: Array("trial \(clock.nowMs) \(type)".utf8))
        let trial = GroupItem(
            id: trialID, author: key.id, seq: .max / 2, timeMs: clock.nowMs, cursor: .max, expiresMs: nil,
            inner: GroupInner(type: type, content: .object(content)))
        let judged: Ledger
        let settling = type == MarketEntryType.claim || type == MarketEntryType.refund
        // A claim or refund settles its purchase as it is written: judged under the escrows it makes.
        let escrows = settling ? Self.escrows(of: current, adding: trial) : nil
        if let quick = fold.judge(trial, escrows: escrows) {
            judged = quick
        } else if let escrows {
            judged = LedgerFold(
                current.log.items + [trial], policies: current.roster.policies, forks: try await forks(in: current), escrows: escrows
            ).ledger
        } else if let quick = fold.judge(trial) {
            judged = quick
        } else {
            if !fold.extend(with: [trial]) {
                fold = LedgerFold(
                    current.log.items + [trial], policies: current.roster.policies, forks: try await forks(in: current),
                    escrows: Self.escrows(of: current))
            }
            judged = fold.ledger
        }
        if let refusal = judged.refused[trialID] {
            throw PlexusError(refusal.kind == .notTreasury ? .forbidden : .rejected, refusal.message)
        }
        guard judged.postings[trialID] != nil else {
            throw PlexusError(.rejected, "this agent's account waits for an entry not held yet; try again shortly")
        }
        return content
    }

    private func takeLedgerTurn(_ group: EntryID) async {
        while ledgerWriting.contains(group) {
            await withCheckedContinuation { ledgerTurns[group, default: []].append($0) }
        }
        ledgerWriting.insert(group)
    }

    private func giveLedgerTurn(_ group: EntryID) {
        ledgerWriting.remove(group)
        if var waiting = ledgerTurns[group], !waiting.isEmpty {
            let next = waiting.removeFirst()
            ledgerTurns[group] = waiting.isEmpty ? nil : waiting
            next.resume()
        }
    }

    // MARK: - By itself

    /// Takes in what was sent to this agent and, on the treasury's node, pays the faucet to
    /// new members and rewards for claims (PROTOCOL.md §14.2; what the treasury pays is its
    /// choice, the policy its promise).
    ///
    /// Each pass names groups by id and reads them afresh around its writes: a copy of a
    /// group held while an entry is taken in would make the group copy its log.
    func keepLedgers() async {
        let writable = groups.filter { $0.value.roster.policy != nil && ($0.value.roster.members[key.id] ?? .reader) >= .member }.keys
        for id in writable {
            do {
                try await spreadForkProofs(in: id)
                try await receiveWhatIsSent(in: id)
                if groups[id]?.roster.policy?.treasury == key.id { try await payAsTreasury(in: id) }
                try await keepMarket(in: id)
            } catch {
                logger.warning("could not keep a group's ledger", metadata: ["group": "\(groups[id]?.membership.name ?? id.hex)", "error": "\(error)"])
            }
        }
    }

    private func receiveWhatIsSent(in id: EntryID) async throws(PlexusError) {
        guard let ledger = try await ledgerState(in: id), let account = ledger.accounts[key.id], account.frozenFrom == nil,
              !account.receivable.isEmpty
        else { return }
        let sources = account.receivable.keys.sorted { $0.hex < $1.hex }.prefix(LedgerMove.maxReceived)
        do {
            _ = try await writeLedger(LedgerEntryType.receive, ["from": .array(sources.map { .string($0.hex) })], in: id)
        } catch where error.code == .rejected {
            // Nothing fits under the balance cap now: it stays receivable.
        }
    }

    private func payAsTreasury(in id: EntryID) async throws(PlexusError) {
        guard let (name, policy, members, claims) = groups[id].flatMap({ group in
            group.roster.policy.map { (group.membership.name, $0, group.roster.members, group.log.items(ofTypes: ["claim"])) }
        }), let ledger = try await ledgerState(in: id) else { return }
        let mine = (ledger.accounts[key.id]?.postings ?? []).compactMap { ledger.postings[$0]?.move }
        var paid: [(to: AgentID, memo: String?, regarding: EntryID?, timeMs: Int64)] = mine.compactMap { move in
            if case .send(let to, _, _, let memo, let regarding) = move.action { return (to, memo, regarding, move.timeMs) }
            return nil
        }
        var payments: [(to: AgentID, amount: Int64, memo: String, regarding: EntryID?)] = []
        if policy.faucet > 0 {
            // Writers only: a reader cannot take anything in.
            let writers = members.filter { $0.value >= .member }.keys.sorted()
            for member in writers where member != key.id && !paid.contains(where: { $0.to == member && $0.memo == "faucet" }) {
                payments.append((member, policy.faucet, "faucet", nil))
            }
        }
        if policy.claimReward > 0 {
            let day = clock.nowMs / 86_400_000
            for item in claims.sorted(by: { $0.cursor < $1.cursor }) where item.author != key.id && members[item.author] != nil {
                guard !paid.contains(where: { $0.regarding == item.id }) else { continue }
                let today = paid.filter { $0.to == item.author && $0.memo == "reward" && $0.timeMs / 86_400_000 == day }.count
                guard Int64(today + 1) * policy.claimReward <= policy.claimRewardDailyLimit else { continue }
                payments.append((item.author, policy.claimReward, "reward", item.id))
                paid.append((item.author, "reward", item.id, clock.nowMs))
            }
        }
        for payment in payments.prefix(Self.maxPaymentsPerPass) {
            guard let now = try await ledgerState(in: id) else { return }
            let balance = now.balance(of: key.id)
            if balance < payment.amount {
                guard policy.supplyCap - now.minted >= payment.amount - balance else {
                    logger.notice("the treasury cannot pay: supply cap reached", metadata: ["group": "\(name)"])
                    return
                }
                _ = try await writeLedger(LedgerEntryType.mint, ["amount": .integer(payment.amount - balance)], in: id)
            }
            var fields: [String: JSONValue] = [
                "to": .string(payment.to.hex), "amount": .integer(payment.amount), "fee": .integer(0), "memo": .string(payment.memo),
            ]
            if let regarding = payment.regarding { fields["for"] = .string(regarding.hex) }
            _ = try await writeLedger(LedgerEntryType.send, fields, in: id)
        }
    }

    // MARK: - Helpers

    /// The group's ledger.
    func ledgerState(of group: Group) async throws(PlexusError) -> Ledger {
        try await ledgerFold(of: group).ledger
    }

    /// The ledger of group `id` (nil when this node left it), without a copy of the group
    /// outliving the call.
    func ledgerState(in id: EntryID) async throws(PlexusError) -> Ledger? {
        guard let group = groups[id] else { return nil }
        return try await ledgerState(of: group)
    }

    /// The group's ledger fold: the one kept, extended with the entries opened since, while
    /// the policies, the proven forks and the settled tasks are the same; otherwise folded
    /// again from every entry.
    func ledgerFold(of group: Group) async throws(PlexusError) -> LedgerFold {
        let forks = try await forks(in: group)
        let id = group.membership.id
        let settlements = group.log.count(ofTypes: Self.settlementTypes)
        let escrows = if let kept = ledgers[id], kept.settlements == settlements, kept.rosterHeads == group.roster.heads {
            kept.stamp.escrows
        } else {
            Self.escrows(of: group)
        }
        let stamp = LedgerStamp(policies: group.roster.policies.map(\.id), forks: forks, escrows: escrows)
        let items = group.log.items
        // Taken out of the cache while it is extended, so the fold is changed in place
        // rather than copied whole.
        if var cached = ledgers.removeValue(forKey: id), cached.stamp.policies == stamp.policies, cached.stamp.forks == stamp.forks,
           items.count >= cached.count, cached.count == 0 || items[cached.count - 1].id == cached.last,
           cached.stamp.escrows == stamp.escrows || cached.fold.release(stamp.escrows) {
            // Escrows settled since (a task accepted, a purchase claimed) were released in place.
            (cached.stamp, cached.settlements, cached.rosterHeads) = (stamp, settlements, group.roster.heads)
            if items.count == cached.count || cached.fold.extend(with: Array(items[cached.count...])) {
                (cached.count, cached.last) = (items.count, items.last?.id)
                ledgers[id] = cached
                return cached.fold
            }
        }
        let fold = LedgerFold(items, policies: group.roster.policies, forks: forks, escrows: stamp.escrows)
        ledgers[id] = FoldedLedger(
            stamp: stamp, fold: fold, count: items.count, last: items.last?.id, settlements: settlements, rosterHeads: group.roster.heads)
        return fold
    }

    /// The feeds proven forked, as this node's store holds them and as the group's
    /// `ledger.fork` entries prove them: the lower seq where both know of one.
    func forks(in group: Group) async throws(PlexusError) -> [AgentID: UInt64] {
        try await store.forkedAuthors().merging(group.forkProofs, uniquingKeysWith: min)
    }

    /// Publishes a `ledger.fork` for each member whose feed this node's store holds proven
    /// forked and the group does not know of yet (PROTOCOL.md §14.5).
    private func spreadForkProofs(in id: EntryID) async throws(PlexusError) {
        let forked = try await store.forkedAuthors()
        guard let (name, members, known) = groups[id].map({ ($0.membership.name, $0.roster.members, $0.forkProofs) }) else { return }
        let unknown = forked.filter { members[$0.key] != nil && (known[$0.key] ?? .max) > $0.value }
        guard !unknown.isEmpty else { return }
        // Two entries of up to 16 KiB each fit one group entry as base64; a proof of larger
        // ones stays with the nodes that saw both.
        for proof in try await store.forks(limit: 1000)
        where unknown[proof.author] == proof.seq && proof.held.encoded().count + proof.conflicting.encoded().count <= 32 * 1024 {
            let content = LedgerForkProof.content(first: proof.held, second: proof.conflicting)
            _ = try await seal(GroupInner(type: LedgerForkProof.type, content: content), expiresMs: nil, in: id)
            logger.notice("spread a fork proof in a group", metadata: ["group": "\(name)", "author": "\(proof.author.short)"])
            return  // one per pass: the next pass sees it in the group and goes on
        }
    }

    /// The entry types whose folds settle escrows: the board's and the market's.
    static let settlementTypes = TaskBoard.types.union(MarketEntryType.types)

    /// Whom each settled board task's reward and each settled market purchase's price goes
    /// to (with `adding`, an entry about to be written, counted in). Over every entry,
    /// retracted or expired ones too: a retraction hides an entry, not its money.
    static func escrows(of group: Group, adding extra: GroupItem? = nil) -> [EntryID: AgentID] {
        let items = group.log.items(ofTypes: settlementTypes) + (extra.map { [$0] } ?? [])
        let board = TaskBoard.fold(items.filter { TaskBoard.types.contains($0.inner.type) }, roles: group.roster.members)
        var payees = Market.fold(items.filter { MarketEntryType.types.contains($0.inner.type) }).escrows
        for task in board.tasks.values where task.reward != nil {
            if let payee = task.payee { payees[task.id] = payee }
        }
        return payees
    }

    static func noLedger(_ group: Group) -> PlexusError {
        PlexusError(.rejected, "\(group.membership.name) has no token policy; its owner sets one with plexus policy")
    }

    static func policyView(of group: Group) -> PolicyView? {
        guard let last = group.roster.policies.last else { return nil }
        let (id, policy) = (last.id, last.policy)
        return PolicyView(
            id: id, currency: policy.currency, supplyCap: policy.supplyCap, treasury: policy.treasury, faucet: policy.faucet,
            claimReward: policy.claimReward, claimRewardDailyLimit: policy.claimRewardDailyLimit,
            feeBasisPoints: policy.feeBasisPoints, balanceCap: policy.balanceCap)
    }

    /// A policy as `group.create` and `group.policy` carry it.
    static func wirePolicy(_ request: PolicyRequest, treasury: AgentID) throws(PlexusError) -> Plexus_GroupPolicy {
        let request = try request.validated()
        var wire = Plexus_GroupPolicy()
        wire.currency = request.currency
        wire.supplyCap = UInt64(request.supplyCap)
        wire.treasury = treasury.bytes.asData
        wire.faucet = UInt64(request.faucet ?? 0)
        wire.claimReward = UInt64(request.claimReward ?? 0)
        wire.claimRewardDailyLimit = UInt64(request.claimRewardDailyLimit ?? 0)
        wire.feeBasisPoints = UInt32(request.feeBasisPoints ?? 0)
        wire.balanceCap = UInt64(request.balanceCap ?? 0)
        return wire
    }

    static func view(_ posting: Ledger.Posting) -> PostingView {
        let move = posting.move
        var view = PostingView(id: move.id, author: move.author, kind: "", delta: posting.delta, balance: posting.balance, timeMs: move.timeMs)
        switch move.action {
        case .mint(let amount):
            view.kind = "mint"
            view.amount = amount
        case .send(let to, let amount, let fee, let memo, let regarding):
            view.kind = "send"
            (view.to, view.amount, view.fee, view.memo, view.regarding) = (to, amount, fee, memo, regarding)
        case .receive:
            view.kind = switch move.type {
            case MarketEntryType.claim: "claim"
            case MarketEntryType.refund: "refund"
            default: "receive"
            }
            view.received = posting.received
        case .lock(let amount):
            view.kind = move.type == MarketEntryType.buy ? "buy" : "lock"
            view.amount = amount
        }
        return view
    }
}
