import Foundation
import PlexusCore
import PropertyBased
import Testing
@testable import PlexusProtocol

/// The ledger fold: account chains, mint within the cap, sends with fees, receipts, the
/// balance cap, chain conflicts, forks and waiting entries; and, property-based, the same
/// ledger from every order of arrival with minted = balances + in flight.
@Suite struct LedgerTests {
    static func agent(_ n: UInt8) -> AgentID {
        AgentID(bytes: Array(repeating: n, count: 32))!
    }

    static let treasury = agent(1), alice = agent(2), bob = agent(3), carol = agent(4)
    static let policyID = EntryID(hashing: Array("create".utf8))
    static let policy = LedgerPolicy(currency: "credits", supplyCap: 10_000, treasury: treasury, feeBasisPoints: 100)

    /// Builds account chains the way nodes write them: each entry names its author's
    /// previous chain entry and takes the author's next seq.
    struct Chains {
        var items: [GroupItem] = []
        var heads: [AgentID: EntryID] = [:]
        var seqs: [AgentID: UInt64] = [:]
        var policy = LedgerTests.policyID

        @discardableResult
        mutating func add(
            _ type: String, by author: AgentID, _ fields: [String: JSONValue], prev: EntryID?? = nil, timeMs: Int64? = nil
        ) -> EntryID {
            let seq = (seqs[author] ?? 0) + 1
            seqs[author] = seq
            var content = fields
            content["policy"] = .string(policy.hex)
            let previous = prev ?? heads[author]
            content["prev"] = previous.map { .string($0.hex) } ?? .null
            let id = EntryID(hashing: Array("\(author.hex) \(seq) \(type) \(items.count)".utf8))
            items.append(GroupItem(
                id: id, author: author, seq: seq, timeMs: timeMs ?? Int64(seq), cursor: Int64(items.count + 1), expiresMs: nil,
                inner: GroupInner(type: type, content: .object(content))))
            heads[author] = id
            return id
        }

        mutating func mint(_ amount: Int64, by author: AgentID = LedgerTests.treasury) -> EntryID {
            add(LedgerEntryType.mint, by: author, ["amount": .integer(amount)])
        }

        @discardableResult
        mutating func send(_ amount: Int64, from author: AgentID, to: AgentID, fee: Int64? = nil) -> EntryID {
            let due = author == LedgerTests.treasury ? 0 : LedgerTests.policy.fee(for: amount)
            return add(LedgerEntryType.send, by: author, ["to": .string(to.hex), "amount": .integer(amount), "fee": .integer(fee ?? due)])
        }

        @discardableResult
        mutating func receive(_ sources: [EntryID], by author: AgentID) -> EntryID {
            add(LedgerEntryType.receive, by: author, ["from": .array(sources.map { .string($0.hex) })])
        }

        /// Sends so far and their recipients, for `randomStep`.
        var sent: [(id: EntryID, to: AgentID)] = []

        /// One step of random traffic among four accounts, chosen by `code`: a mint (refused
        /// unless by the treasury), a send, or a receipt of the actor's last three sends.
        mutating func randomStep(_ code: Int) {
            let accounts = [LedgerTests.treasury, LedgerTests.alice, LedgerTests.bob, LedgerTests.carol]
            let actor = accounts[code % 4]
            switch code / 4 % 5 {
            case 0:
                _ = mint(Int64(code + 1), by: actor)
            case 1, 2:
                let to = accounts[(code / 20 + 1 + code % 4) % 4]
                guard to != actor else { return }
                sent.append((send(Int64(code % 300 + 1), from: actor, to: to), to))
            default:
                let mine = sent.filter { $0.to == actor }.map(\.id)
                if !mine.isEmpty { receive(Array(mine.suffix(3)), by: actor) }
            }
        }
    }

    static func fold(_ items: [GroupItem], policy: LedgerPolicy = policy, forks: [AgentID: UInt64] = [:]) -> Ledger {
        Ledger.fold(items, policies: [(policyID, policy)], forks: forks)
    }

    @Test func theTreasuryMintsAndPaysMembersSendWithAFeeAndReceive() {
        var chains = Chains()
        _ = chains.mint(1_000)
        let faucetAlice = chains.send(300, from: Self.treasury, to: Self.alice)
        let faucetBob = chains.send(100, from: Self.treasury, to: Self.bob)
        chains.receive([faucetAlice], by: Self.alice)
        chains.receive([faucetBob], by: Self.bob)
        let pay = chains.send(200, from: Self.alice, to: Self.bob)  // fee 2
        let ledger = Self.fold(chains.items)
        #expect(ledger.refused.isEmpty && ledger.waiting.isEmpty)
        #expect(ledger.minted == 1_000 && ledger.balance(of: Self.treasury) == 600)
        #expect(ledger.balance(of: Self.alice) == 98 && ledger.balance(of: Self.bob) == 100)
        // Bob has 200 to take in, the treasury the fee of 2.
        #expect(ledger.accounts[Self.bob]?.receivable == [pay: 200] && ledger.accounts[Self.treasury]?.receivable == [pay: 2])
        #expect(ledger.inFlight == 202 && ledger.minted == ledger.accounts.values.reduce(0) { $0 + $1.balance } + ledger.inFlight)

        chains.receive([pay], by: Self.bob)
        chains.receive([pay], by: Self.treasury)
        let settled = Self.fold(chains.items)
        #expect(settled.balance(of: Self.bob) == 300 && settled.balance(of: Self.treasury) == 602 && settled.inFlight == 0)
        #expect(settled.postings[pay]?.delta == -202 && settled.postings[pay]?.balance == 98)
    }

    @Test func mintingOverspendingWrongFeesAndForeignReceiptsAreRefused() {
        var chains = Chains()
        let aliceMints = chains.mint(50, by: Self.alice)
        _ = chains.mint(9_000)
        let overCap = chains.mint(1_001)
        let exact = chains.mint(1_000)
        let toAlice = chains.send(100, from: Self.treasury, to: Self.alice)
        chains.receive([toAlice], by: Self.alice)
        let tooMuch = chains.send(99, from: Self.alice, to: Self.bob)  // 99 + fee 0 ≤ 100: fine
        let overspend = chains.send(2, from: Self.alice, to: Self.bob)  // 1 left, needs 2
        let wrongFee = chains.send(1, from: Self.alice, to: Self.bob, fee: 5)
        let carolTakesBobs = chains.receive([tooMuch], by: Self.carol)
        chains.receive([tooMuch], by: Self.bob)
        let twice = chains.receive([tooMuch], by: Self.bob)
        let ledger = Self.fold(chains.items)
        #expect(ledger.refused[aliceMints]?.kind == .notTreasury)
        #expect(ledger.refused[overCap]?.kind == .overCap && ledger.postings[exact] != nil && ledger.minted == 10_000)
        #expect(ledger.postings[tooMuch] != nil && ledger.balance(of: Self.alice) == 1)
        #expect(ledger.refused[overspend]?.kind == .insufficient && ledger.refused[wrongFee]?.kind == .wrongFee)
        #expect(ledger.refused[carolTakesBobs]?.kind == .notReceivable && ledger.refused[twice]?.kind == .notReceivable)
        #expect(ledger.balance(of: Self.bob) == 99 && ledger.balance(of: Self.carol) == 0)
        #expect(ledger.accounts.values.allSatisfy { $0.balance >= 0 })
    }

    @Test func aMalformedEntryIsRefusedAndTheRestOfItsChainWaits() {
        var chains = Chains()
        _ = chains.mint(100)
        let broken = chains.add(LedgerEntryType.send, by: Self.treasury, ["to": .string("nobody"), "amount": .integer(5), "fee": .integer(0)])
        let after = chains.send(5, from: Self.treasury, to: Self.alice)
        let ledger = Self.fold(chains.items)
        #expect(ledger.refused[broken]?.kind == .malformed)
        // Its successor names a prev that never counts: it waits, and so nothing is lost.
        #expect(ledger.waiting == [after] && ledger.balance(of: Self.treasury) == 100)
    }

    @Test func twoEntriesOnOnePrevCountOnceAndAMissingPrevWaits() {
        var chains = Chains()
        let first = chains.mint(100)
        let toAlice = chains.send(80, from: Self.treasury, to: Self.alice)
        // A second send on the same prev (signed later, in the same feed): one of them counts.
        let toBob = chains.add(LedgerEntryType.send, by: Self.treasury, ["to": .string(Self.bob.hex), "amount": .integer(80), "fee": .integer(0)], prev: .some(first))
        let ledger = Self.fold(chains.items)
        let counted = [toAlice, toBob].filter { ledger.postings[$0] != nil }
        #expect(counted.count == 1 && ledger.balance(of: Self.treasury) == 20)
        #expect(ledger.refused[[toAlice, toBob].first { $0 != counted.first }!]?.kind == .chainConflict)

        // Without the mint the chain waits at its first entry; nothing counts, nothing is refused.
        let missing = Self.fold(chains.items.filter { $0.id != first })
        #expect(missing.postings.isEmpty && missing.refused.isEmpty && missing.waiting == [toAlice, toBob])
    }

    @Test func aForkFreezesTheAccountFromItsSeqOnEverywhere() {
        var chains = Chains()
        _ = chains.mint(1_000)
        let toAlice = chains.send(500, from: Self.treasury, to: Self.alice)
        chains.receive([toAlice], by: Self.alice)  // alice seq 1
        let beforeFork = chains.send(100, from: Self.alice, to: Self.bob)  // seq 2
        let afterFork = chains.send(100, from: Self.alice, to: Self.carol)  // seq 3
        let ledger = Self.fold(chains.items, forks: [Self.alice: 3])
        #expect(ledger.postings[beforeFork] != nil && ledger.refused[afterFork]?.kind == .frozen)
        #expect(ledger.accounts[Self.alice]?.frozenFrom == 3 && ledger.balance(of: Self.alice) == 399)
        // What was sent to the frozen account stays in flight: nothing is created or lost.
        #expect(ledger.minted == ledger.accounts.values.reduce(0) { $0 + $1.balance } + ledger.inFlight)
    }

    @Test func theBalanceCapHoldsAReceiptBackUntilThereIsRoom() {
        var capped = Self.policy
        capped.balanceCap = 150
        var chains = Chains()
        _ = chains.mint(1_000)
        let first = chains.send(100, from: Self.treasury, to: Self.alice)
        let second = chains.send(100, from: Self.treasury, to: Self.alice)
        let both = chains.receive([first, second], by: Self.alice)
        let ledger = Self.fold(chains.items, policy: capped)
        #expect(ledger.postings[both]?.received == [first] && ledger.balance(of: Self.alice) == 100)
        #expect(ledger.accounts[Self.alice]?.receivable == [second: 100])
        // After spending, the rest comes in.
        chains.send(60, from: Self.alice, to: Self.bob)  // 60 + fee 0 (1 % of 60 rounds down to 0)
        let later = chains.receive([second], by: Self.alice)
        let after = Self.fold(chains.items, policy: capped)
        #expect(after.postings[later]?.received == [second] && after.balance(of: Self.alice) == 140)
    }

    @Test func anEntryCitingAnOlderPolicyThanItsAuthorDidBeforeIsRefused() {
        let newer = EntryID(hashing: Array("policy 2".utf8))
        var raised = Self.policy
        raised.feeBasisPoints = 1_000
        var chains = Chains()
        _ = chains.mint(1_000)
        chains.policy = newer
        let underNew = chains.send(100, from: Self.treasury, to: Self.alice)
        chains.receive([underNew], by: Self.alice)
        let newFee = chains.send(50, from: Self.alice, to: Self.bob, fee: 5)  // 10 % under the newer policy
        chains.policy = Self.policyID
        let oldFee = chains.send(10, from: Self.alice, to: Self.bob, fee: 0)  // 1 % of 10 rounds to 0
        let ledger = Ledger.fold(chains.items, policies: [(Self.policyID, Self.policy), (newer, raised)])
        #expect(ledger.postings[newFee] != nil && ledger.accounts[Self.treasury]?.receivable[newFee] == 5)
        #expect(ledger.refused[oldFee]?.kind == .stalePolicy)
        // An entry citing a policy not held yet waits for it.
        let early = Ledger.fold(chains.items, policies: [(Self.policyID, Self.policy)])
        #expect(early.waiting.contains(underNew) && early.postings[underNew] == nil)
    }

    /// Random traffic among four accounts: whatever the order the entries arrive in, every
    /// node folds the same ledger, no balance is negative, supply stays within the cap, and
    /// minted = balances + in flight.
    @Test func everyOrderOfArrivalGivesTheSameLedger() async {
        let operations = Gen.int(in: 0...999).array(of: 5...40)
        await propertyCheck(count: 60, input: operations, Gen.int(in: 0...Int.max)) { script, seed in
            var chains = Chains()
            for code in script { chains.randomStep(code) }
            let reference = Self.fold(chains.items)
            var random = GossipRandom(seed: UInt64(seed))
            let shuffled = Self.fold(chains.items.shuffled(using: &random))
            #expect(shuffled.accounts == reference.accounts)
            #expect(shuffled.refused == reference.refused && shuffled.waiting == reference.waiting)
            #expect(shuffled.minted == reference.minted && reference.minted <= Self.policy.supplyCap)
            #expect(reference.accounts.values.allSatisfy { $0.balance >= 0 })
            #expect(reference.minted == reference.accounts.values.reduce(0) { $0 + $1.balance } + reference.inFlight)
        }
    }

    /// A fold extended with the entries that arrived since equals the fold of everything,
    /// whenever it accepts them; entries in chain order it always accepts.
    @Test func anExtendedFoldEqualsTheWholeFold() async {
        let operations = Gen.int(in: 0...999).array(of: 5...40)
        await propertyCheck(count: 60, input: operations, Gen.int(in: 0...Int.max)) { script, seed in
            var chains = Chains()
            for code in script { chains.randomStep(code) }
            let whole = Self.fold(chains.items)
            func same(_ fold: LedgerFold) -> Bool {
                let ledger = fold.ledger
                return ledger.accounts == whole.accounts && ledger.refused == whole.refused && ledger.waiting == whole.waiting
                    && ledger.minted == whole.minted && ledger.heads == whole.heads && ledger.postings == whole.postings
            }
            let cut = seed % (chains.items.count + 1)
            // In the order written (every chain in order): always accepted.
            var inOrder = LedgerFold(Array(chains.items.prefix(cut)), policies: [(Self.policyID, Self.policy)])
            #expect(inOrder.extend(with: Array(chains.items.dropFirst(cut))) && same(inOrder))
            // Shuffled: when accepted, the same.
            var random = GossipRandom(seed: UInt64(seed))
            let shuffled = chains.items.shuffled(using: &random)
            var extended = LedgerFold(Array(shuffled.prefix(cut)), policies: [(Self.policyID, Self.policy)])
            if extended.extend(with: Array(shuffled.dropFirst(cut))) { #expect(same(extended)) }
        }
    }

    /// Escrows settled after part of the ledger was folded (a task accepted, a purchase
    /// claimed), released into the fold, then the rest extended: the same as folding
    /// everything under the final escrows; refused only when a receipt already folded named
    /// a newly settled escrow.
    @Test func releasingSettledEscrowsEqualsTheWholeFold() async {
        let operations = Gen.int(in: 0...999).array(of: 5...40)
        await propertyCheck(count: 80, input: operations, Gen.int(in: 0...Int.max)) { script, seed in
            let accounts = [Self.treasury, Self.alice, Self.bob, Self.carol]
            var chains = Chains()
            // Every account funded, so that most locks count.
            _ = chains.mint(4_000)
            for member in [Self.alice, Self.bob, Self.carol] { chains.receive([chains.send(1_000, from: Self.treasury, to: member)], by: member) }
            var locks: [EntryID] = []
            for code in script {
                if code % 5 == 0 {
                    locks.append(chains.add(TaskBoard.createType, by: accounts[code / 5 % 4], ["title": .string("t"), "reward": .integer(Int64(code % 50 + 1))]))
                } else {
                    chains.randomStep(code)
                }
            }
            var escrows: [EntryID: AgentID] = [:]
            for (index, lock) in locks.enumerated() where (seed >> (index % 60)) & 1 == 1 { escrows[lock] = accounts[(index + seed) % 4] }
            for (lock, payee) in escrows.sorted(by: { $0.key.hex < $1.key.hex }) where (seed / 7) % 3 != 0 { chains.receive([lock], by: payee) }
            let policies = [(id: Self.policyID, policy: Self.policy)]
            let whole = LedgerFold(chains.items, policies: policies, escrows: escrows).ledger
            let cut = 7 + seed % (chains.items.count - 6)
            let early = escrows.filter { ($0.key.bytes[0] ^ UInt8(truncatingIfNeeded: seed)) & 1 == 0 }
            var fold = LedgerFold(Array(chains.items.prefix(cut)), policies: policies, escrows: early)
            let namedEarly = Set(chains.items.prefix(cut).compactMap { item -> [EntryID]? in
                guard item.inner.type == LedgerEntryType.receive, let move = try? LedgerMove(item), case .receive(let sources) = move.action else { return nil }
                return sources
            }.joined())
            let released = escrows.keys.filter { early[$0] == nil }
            let accepted = fold.release(escrows)
            if !released.contains(where: namedEarly.contains) { #expect(accepted) }
            guard accepted, fold.extend(with: Array(chains.items.dropFirst(cut))) else { return }
            let ledger = fold.ledger
            #expect(ledger.accounts == whole.accounts && ledger.refused == whole.refused && ledger.waiting == whole.waiting)
            #expect(ledger.minted == whole.minted && ledger.postings == whole.postings && ledger.escrowed == whole.escrowed)
        }
    }

    /// A `ledger.fork` entry proves a fork when its two entries verify, share the author and
    /// contradict each other; anything else proves nothing.
    @Test func aForkProofHoldsOnlyForTwoContradictingEntriesOfItsAuthor() throws {
        let author = AgentKey()
        func signed(_ seq: UInt64, prev: EntryID?, text: String, by key: AgentKey? = nil) throws -> SignedEntry {
            try SignedEntry(signing: try EntryDraft(content: .object(["t": .string(text)])).body(seq: seq, prev: prev, timeMs: 1), with: key ?? author)
        }
        func proof(_ first: SignedEntry, _ second: SignedEntry) -> LedgerForkProof? {
            LedgerForkProof(GroupItem(
                id: EntryID(hashing: [9]), author: Self.alice, seq: 1, timeMs: 1, cursor: 1, expiresMs: nil,
                inner: GroupInner(type: LedgerForkProof.type, content: LedgerForkProof.content(first: first, second: second))))
        }
        let one = try signed(1, prev: nil, text: "one")
        let two = try signed(2, prev: one.id, text: "two")
        let otherTwo = try signed(2, prev: one.id, text: "two, again")
        let strayThree = try signed(3, prev: EntryID(hashing: [1]), text: "three")
        #expect(proof(two, otherTwo)?.author == author.id && proof(two, otherTwo)?.seq == 2)
        #expect(proof(strayThree, two)?.seq == 2, "seq 3 does not build on the seq 2 held")
        #expect(proof(one, two) == nil, "a feed that follows on proves nothing")
        #expect(proof(two, two) == nil)
        #expect(proof(two, try signed(2, prev: one.id, text: "someone else's", by: AgentKey())) == nil)
        #expect(proof(one, try signed(3, prev: EntryID(hashing: [2]), text: "far")) == nil, "two seqs apart")
    }

    /// Judging an author's next entry on a scratch fold gives what extending the whole fold
    /// with it gives, for that entry, and leaves the fold as it was.
    @Test func judgingTheNextEntryAgreesWithExtendingTheFold() async {
        let operations = Gen.int(in: 0...999).array(of: 5...40)
        await propertyCheck(count: 60, input: operations, Gen.int(in: 0...999)) { script, last in
            var chains = Chains()
            for code in script { chains.randomStep(code) }
            let fold = LedgerFold(chains.items, policies: [(Self.policyID, Self.policy)])
            let before = chains.items.count
            chains.randomStep(last)
            guard chains.items.count > before, let trial = chains.items.last else { return }
            var extended = fold
            let accepted = extended.extend(with: [trial])
            #expect(accepted)
            guard let judged = fold.judge(trial) else { return }  // its author's chain waits: no quick judgement
            #expect(judged.refused[trial.id] == extended.ledger.refused[trial.id])
            #expect(judged.postings[trial.id] == extended.ledger.postings[trial.id])
            #expect(judged.waiting.contains(trial.id) == extended.ledger.waiting.contains(trial.id))
            #expect(fold.ledger.postings[trial.id] == nil && fold.ledger.refused[trial.id] == nil)
        }
    }
}

