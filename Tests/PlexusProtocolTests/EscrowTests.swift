import Foundation
import PlexusCore
import Testing
@testable import PlexusProtocol

/// Escrowed task rewards (PROTOCOL.md §14.4): the board's rules for rewarded tasks, the
/// lock in the creator's account chain, and the reward going where the board settles it.
@Suite struct EscrowTests {
    typealias Chains = LedgerTests.Chains
    static let (treasury, alice, bob, carol) = (LedgerTests.treasury, LedgerTests.alice, LedgerTests.bob, LedgerTests.carol)
    static let roles: [AgentID: GroupRole] = [treasury: .owner, alice: .member, bob: .member, carol: .manager]

    /// Alice holds 500 (minted by the treasury, sent, received).
    static func funded() -> Chains {
        var chains = Chains()
        _ = chains.mint(1_000)
        let grant = chains.send(500, from: treasury, to: alice)
        chains.receive([grant], by: alice)
        return chains
    }

    /// A rewarded task: a `board.create` that is also a chain entry of its creator.
    static func task(_ chains: inout Chains, reward: Int64, by creator: AgentID = alice, arbiter: AgentID? = nil) -> EntryID {
        var content: [String: JSONValue] = ["title": .string("label the images"), "reward": .integer(reward)]
        if let arbiter { content["arbiter"] = .string(arbiter.hex) }
        return chains.add(TaskBoard.createType, by: creator, content)
    }

    /// A board move of `task` built on `head`, by `author`.
    static func move(
        _ chains: inout Chains, _ type: String, by author: AgentID, task: EntryID, after head: EntryID, _ content: [String: JSONValue] = [:]
    ) -> EntryID {
        let seq = (chains.seqs[author] ?? 0) + 1
        chains.seqs[author] = seq
        let id = EntryID(hashing: Array("\(author.hex) \(seq) \(type) move \(chains.items.count)".utf8))
        chains.items.append(GroupItem(
            id: id, author: author, seq: seq, timeMs: Int64(seq), cursor: Int64(chains.items.count + 1), expiresMs: nil,
            inner: GroupInner(type: type, refs: [task, head], content: .object(content))))
        return id
    }

    /// The board, then the ledger given what the board settled: what a node does.
    static func fold(_ items: [GroupItem]) -> (TaskBoard, Ledger) {
        let board = TaskBoard.fold(items.filter { TaskBoard.types.contains($0.inner.type) }, roles: roles)
        var payees: [EntryID: AgentID] = [:]
        for task in board.tasks.values where task.reward != nil { if let payee = task.payee { payees[task.id] = payee } }
        return (board, Ledger.fold(items, policies: [(LedgerTests.policyID, LedgerTests.policy)], escrows: payees))
    }

    static func balancesAddUp(_ ledger: Ledger) -> Bool {
        ledger.minted == ledger.accounts.values.reduce(0) { $0 + $1.balance } + ledger.inFlight
    }

    @Test func anAcceptedTasksRewardGoesToTheAssigneeAndNothingIsMinted() {
        var chains = Self.funded()
        let task = Self.task(&chains, reward: 200)
        var (board, ledger) = Self.fold(chains.items)
        #expect(board.tasks[task]?.reward == 200 && board.tasks[task]?.state == .open)
        #expect(ledger.balance(of: Self.alice) == 300 && ledger.escrowed == [task: 200] && Self.balancesAddUp(ledger))

        let assign = Self.move(&chains, TaskBoard.assignType, by: Self.alice, task: task, after: task, ["assignee": .string(Self.bob.hex)])
        let complete = Self.move(
            &chains, TaskBoard.completeType, by: Self.bob, task: task, after: assign, ["result": .string(EntryID(hashing: [1]).hex)])
        // The assignee cannot accept its own work: the reward stays locked.
        let selfAccept = Self.move(&chains, TaskBoard.acceptType, by: Self.bob, task: task, after: complete)
        (board, ledger) = Self.fold(chains.items)
        #expect(board.refused[selfAccept]?.kind == .forbidden && ledger.escrowed == [task: 200])
        #expect(ledger.accounts[Self.bob]?.receivable[task] == nil)

        _ = Self.move(&chains, TaskBoard.acceptType, by: Self.alice, task: task, after: complete)
        (board, ledger) = Self.fold(chains.items)
        #expect(board.tasks[task]?.state == .accepted && board.tasks[task]?.payee == Self.bob)
        #expect(ledger.escrowed.isEmpty && ledger.accounts[Self.bob]?.receivable == [task: 200] && Self.balancesAddUp(ledger))

        chains.receive([task], by: Self.bob)
        (_, ledger) = Self.fold(chains.items)
        #expect(ledger.balance(of: Self.bob) == 200 && ledger.balance(of: Self.alice) == 300 && ledger.minted == 1_000)
        #expect(Self.balancesAddUp(ledger))
        // Once only: a second receipt of the same reward takes nothing.
        let again = chains.receive([task], by: Self.bob)
        #expect(Self.fold(chains.items).1.refused[again]?.kind == .notReceivable)
    }

    @Test func aRewardNeedsTheBalanceAndOnlyTheCreatorAssignsARewardedTask() {
        var chains = Self.funded()
        let tooMuch = Self.task(&chains, reward: 501)
        let (_, ledger) = Self.fold(chains.items)
        #expect(ledger.refused[tooMuch]?.kind == .insufficient && ledger.balance(of: Self.alice) == 500 && ledger.escrowed.isEmpty)

        var second = Self.funded()
        let task = Self.task(&second, reward: 100)
        // Carol is a manager, but a rewarded task is the creator's to assign.
        let byManager = Self.move(&second, TaskBoard.assignType, by: Self.carol, task: task, after: task, ["assignee": .string(Self.carol.hex)])
        #expect(Self.fold(second.items).0.refused[byManager]?.kind == .forbidden)
        // An unrewarded task may still be assigned by a manager.
        let plain = second.add(TaskBoard.createType, by: Self.bob, ["title": .string("tidy up")])
        let assigned = Self.move(&second, TaskBoard.assignType, by: Self.carol, task: plain, after: plain, ["assignee": .string(Self.alice.hex)])
        #expect(Self.fold(second.items).0.refused[assigned] == nil)
    }

    @Test func aCancelledOpenTaskRefundsTheCreatorButAnAssignedOneIsNotCancelled() {
        var chains = Self.funded()
        let open = Self.task(&chains, reward: 100)
        _ = Self.move(&chains, TaskBoard.cancelType, by: Self.alice, task: open, after: open)
        let taken = Self.task(&chains, reward: 50)
        let assign = Self.move(&chains, TaskBoard.assignType, by: Self.alice, task: taken, after: taken, ["assignee": .string(Self.bob.hex)])
        let late = Self.move(&chains, TaskBoard.cancelType, by: Self.alice, task: taken, after: assign)
        var (board, ledger) = Self.fold(chains.items)
        #expect(board.tasks[open]?.state == .cancelled && board.refused[late]?.kind == .conflict)
        #expect(ledger.accounts[Self.alice]?.receivable == [open: 100] && ledger.escrowed == [taken: 50])
        chains.receive([open], by: Self.alice)
        (board, ledger) = Self.fold(chains.items)
        #expect(ledger.balance(of: Self.alice) == 450 && Self.balancesAddUp(ledger))
        // After the assignee fails it, the creator may cancel and take the reward back.
        let failed = Self.move(&chains, TaskBoard.failType, by: Self.bob, task: taken, after: assign, ["reason": .string("no time")])
        _ = Self.move(&chains, TaskBoard.cancelType, by: Self.alice, task: taken, after: failed)
        (board, ledger) = Self.fold(chains.items)
        #expect(board.tasks[taken]?.state == .cancelled && ledger.accounts[Self.alice]?.receivable == [taken: 50])
    }

    @Test func aDisputeIsRuledByTheArbiterAlone() {
        var chains = Self.funded()
        let task = Self.task(&chains, reward: 120, arbiter: Self.carol)
        let assign = Self.move(&chains, TaskBoard.assignType, by: Self.alice, task: task, after: task, ["assignee": .string(Self.bob.hex)])
        let complete = Self.move(
            &chains, TaskBoard.completeType, by: Self.bob, task: task, after: assign, ["result": .string(EntryID(hashing: [2]).hex)])
        // Alice will not accept; Bob disputes.
        let dispute = Self.move(&chains, TaskBoard.disputeType, by: Self.bob, task: task, after: complete, ["reason": .string("done as asked")])
        let byCreator = Self.move(&chains, TaskBoard.ruleType, by: Self.alice, task: task, after: dispute, ["to": .string(Self.alice.hex)])
        let toOutsider = Self.move(&chains, TaskBoard.ruleType, by: Self.carol, task: task, after: dispute, ["to": .string(Self.carol.hex)])
        var (board, ledger) = Self.fold(chains.items)
        #expect(board.tasks[task]?.state == .disputed && board.tasks[task]?.dispute == "done as asked")
        #expect(board.refused[byCreator]?.kind == .forbidden && board.refused[toOutsider]?.kind == .malformed)
        #expect(ledger.escrowed == [task: 120])

        let ruling = Self.move(&chains, TaskBoard.ruleType, by: Self.carol, task: task, after: dispute, ["to": .string(Self.bob.hex)])
        let acceptAfter = Self.move(&chains, TaskBoard.acceptType, by: Self.alice, task: task, after: ruling)
        (board, ledger) = Self.fold(chains.items)
        #expect(board.tasks[task]?.state == .ruled && board.tasks[task]?.payee == Self.bob && board.refused[acceptAfter]?.kind == .conflict)
        #expect(ledger.escrowed.isEmpty && ledger.accounts[Self.bob]?.receivable == [task: 120] && Self.balancesAddUp(ledger))

        // Without an arbiter there is no dispute.
        var plain = Self.funded()
        let unarbitrated = Self.task(&plain, reward: 10)
        let refused = Self.move(&plain, TaskBoard.disputeType, by: Self.alice, task: unarbitrated, after: unarbitrated, ["reason": .string("x")])
        #expect(Self.fold(plain.items).0.refused[refused]?.kind == .conflict)
    }

    @Test func aForkedCreatorsLockDoesNotCountAndTheOrderOfArrivalDoesNotMatter() {
        var chains = Self.funded()
        let task = Self.task(&chains, reward: 200)
        let seq = chains.seqs[Self.alice] ?? 0
        let frozen = Ledger.fold(chains.items, policies: [(LedgerTests.policyID, LedgerTests.policy)], forks: [Self.alice: seq])
        #expect(frozen.refused[task]?.kind == .frozen && frozen.escrowed.isEmpty)

        let assign = Self.move(&chains, TaskBoard.assignType, by: Self.alice, task: task, after: task, ["assignee": .string(Self.bob.hex)])
        let complete = Self.move(
            &chains, TaskBoard.completeType, by: Self.bob, task: task, after: assign, ["result": .string(EntryID(hashing: [3]).hex)])
        _ = Self.move(&chains, TaskBoard.acceptType, by: Self.alice, task: task, after: complete)
        chains.receive([task], by: Self.bob)
        let (board, ledger) = Self.fold(chains.items)
        let (shuffledBoard, shuffledLedger) = Self.fold(chains.items.reversed())
        #expect(shuffledBoard == board && shuffledLedger.accounts == ledger.accounts && shuffledLedger.escrowed == ledger.escrowed)
        #expect(ledger.balance(of: Self.bob) == 200)
    }
}
