import Foundation
import PlexusClient
import PlexusCore
import PlexusNode
import Testing

/// A group's token ledger on real `plexus serve` processes: the treasury's faucet and
/// claim rewards paid by its node, a transfer with its fee taken in by the recipient's and
/// the treasury's nodes, the refusals (a member minting, overspending), and the same
/// balances on every node before and after a restart.
@Suite(.serialized) struct GroupLedgerTests {
    static func balances(_ node: ServeProcess, group: String) async throws -> [AgentID: Int64] {
        Dictionary(uniqueKeysWithValues: try await node.client.ledger(group: group).accounts.map { ($0.agent, $0.balance) })
    }

    /// Three nodes (the owner as treasury, Alice and Bob as members) in a group with
    /// `policy`, once both members hold their faucet on every node.
    struct Economy {
        let owner, alice, bob: ServeProcess
        let ownerID, aliceID, bobID: AgentID
        let group: String
    }

    static func economy(_ name: String, policy: PolicyRequest) async throws -> Economy {
        let owner = try await GroupTests.start()
        let alice = try await GroupTests.start(owner)
        let bob = try await GroupTests.start(owner)
        let ownerID = try await owner.client.identity().agentID
        let aliceID = try await alice.client.identity().agentID
        let bobID = try await bob.client.identity().agentID
        try await GroupTests.waitUntil(owner, knows: [aliceID, bobID])
        let group = try await owner.client.createGroup(GroupCreateRequest(name: name, policy: policy)).id.hex
        _ = try await owner.client.addMember(group: group, GroupMemberRequest(agent: aliceID))
        _ = try await owner.client.addMember(group: group, GroupMemberRequest(agent: bobID))
        // The treasury's node mints what it needs and pays each member the faucet; each
        // member's node takes it in.
        try await MeshTests.eventually("Alice and Bob hold their faucet on every node", within: .seconds(60)) {
            for node in [owner, alice, bob] {
                let balances = try await Self.balances(node, group: group)
                guard balances[aliceID] == policy.faucet, balances[bobID] == policy.faucet else { return false }
            }
            return true
        }
        return Economy(owner: owner, alice: alice, bob: bob, ownerID: ownerID, aliceID: aliceID, bobID: bobID, group: group)
    }

    @Test func theTreasuryPaysFaucetsAndRewardsAndTransfersCarryTheirFee() async throws {
        let policy = PolicyRequest(
            currency: "credits", supplyCap: 10_000, faucet: 100, claimReward: 5, claimRewardDailyLimit: 10, feeBasisPoints: 1_000)
        let economy = try await Self.economy("economy", policy: policy)
        let (owner, alice, bob, group) = (economy.owner, economy.alice, economy.bob, economy.group)
        let (ownerID, aliceID, bobID) = (economy.ownerID, economy.aliceID, economy.bobID)

        // Alice pays Bob 50 with a 10 % fee: Bob's node takes the 50 in, the treasury's the 5.
        let sent = try await alice.client.transfer(group: group, TransferRequest(to: bobID, amount: 50, memo: "for the data"))
        #expect(sent.kind == "send" && sent.fee == 5 && sent.balance == 45)
        try await MeshTests.eventually("the transfer is taken in everywhere", within: .seconds(60)) {
            for node in [owner, alice, bob] {
                let ledger = try await node.client.ledger(group: group)
                let balances = Dictionary(uniqueKeysWithValues: ledger.accounts.map { ($0.agent, $0.balance) })
                guard balances[aliceID] == 45, balances[bobID] == 150, ledger.inFlight == 0 else { return false }
            }
            return true
        }

        // Claims earn 5 each, 10 a day at most: the third earns nothing today.
        for n in 1...3 {
            _ = try await alice.client.publish(group: group, PublishRequest(type: "claim", content: .object(["text": .string("finding \(n)")])))
        }
        try await MeshTests.eventually("Alice is paid for two claims", within: .seconds(60)) {
            try await Self.balances(alice, group: group)[aliceID] == 55
        }

        // Refused: Bob mints (403), Alice overspends (409), Alice pays herself (422).
        #expect(await GroupTests.refusal { _ = try await bob.client.mint(group: group, MintRequest(amount: 1)) } == .forbidden)
        #expect(await GroupTests.refusal { _ = try await alice.client.transfer(group: group, TransferRequest(to: bobID, amount: 1_000)) } == .rejected)
        #expect(await GroupTests.refusal { _ = try await alice.client.transfer(group: group, TransferRequest(to: aliceID, amount: 1)) } == .invalidContent)
        // The treasury mints within the cap, not past it.
        #expect(try await owner.client.mint(group: group, MintRequest(amount: 100)).kind == "mint")
        #expect(await GroupTests.refusal { _ = try await owner.client.mint(group: group, MintRequest(amount: 10_000)) } == .rejected)

        // Every node agrees, also after a restart; supply = balances + in flight.
        let before = try await Self.balances(owner, group: group)
        try await MeshTests.eventually("every node folds the same balances", within: .seconds(60)) {
            for node in [alice, bob] where try await Self.balances(node, group: group) != before { return false }
            return true
        }
        let ledger = try await owner.client.ledger(group: group)
        #expect(ledger.minted == before.values.reduce(0, +) + ledger.inFlight && ledger.minted <= 10_000)
        #expect(before[ownerID].map { $0 > 0 } == true)
        var restarted: [ServeProcess] = []
        for node in [owner, alice, bob] {
            _ = try await node.stop()
            restarted.append(try await GroupTests.start(directory: node.directory))
        }
        for node in restarted {
            #expect(try await Self.balances(node, group: group) == before)
        }
    }

    /// A rewarded board task from creation to payment, a dispute ruled by the arbiter, a
    /// cancelled task's refund, and the refusals: no balance, a manager assigning, the
    /// assignee accepting its own work, a ruling by someone else.
    @Test func aTaskRewardIsEscrowedAndPaidWhereTheBoardSettlesIt() async throws {
        let economy = try await Self.economy("bounties", policy: PolicyRequest(currency: "credits", supplyCap: 10_000, faucet: 300))
        let (owner, alice, bob, group) = (economy.owner, economy.alice, economy.bob, economy.group)
        let (ownerID, aliceID, bobID) = (economy.ownerID, economy.aliceID, economy.bobID)

        // Refused: more than Alice holds.
        #expect(await GroupTests.refusal {
            _ = try await alice.client.createBoardTask(group: group, BoardCreateRequest(title: "too dear", reward: 301))
        } == .rejected)
        // Alice posts a task with a reward of 120 and the owner as arbiter: it is locked.
        let task = try await alice.client.createBoardTask(
            group: group, BoardCreateRequest(title: "label 500 images", reward: 120, arbiter: ownerID))
        #expect(task.reward == 120 && task.escrow == "locked" && task.state == "open")
        #expect(try await Self.balances(alice, group: group)[aliceID] == 180)
        try await MeshTests.eventually("the other nodes see the task", within: .seconds(60)) {
            for node in [owner, bob] where try await !node.client.board(group: group).tasks.contains(where: { $0.id == task.id }) {
                return false
            }
            return true
        }
        // The owner is a manager, but a rewarded task is Alice's to assign.
        #expect(await GroupTests.refusal { _ = try await owner.client.moveBoardTask(group: group, task: task.id, .assign(bobID)) } == .forbidden)
        _ = try await alice.client.moveBoardTask(group: group, task: task.id, .assign(bobID))
        try await MeshTests.eventually("Bob's node sees the assignment", within: .seconds(60)) {
            try await bob.client.board(group: group).tasks.first { $0.id == task.id }?.assignee == bobID
        }
        let result = try await bob.client.publish(group: group, PublishRequest(type: "claim", content: .object(["text": .string("labels")])))
        _ = try await bob.client.moveBoardTask(group: group, task: task.id, .complete(result: result.id))
        #expect(await GroupTests.refusal { _ = try await bob.client.moveBoardTask(group: group, task: task.id, .accept) } == .forbidden)
        try await MeshTests.eventually("Alice's node sees the completion", within: .seconds(60)) {
            try await alice.client.board(group: group).tasks.first { $0.id == task.id }?.state == "completed"
        }
        let accepted = try await alice.client.moveBoardTask(group: group, task: task.id, .accept)
        #expect(accepted.state == "accepted" && accepted.payee == bobID)
        // Bob's node takes the reward in by itself.
        try await MeshTests.eventually("Bob is paid on every node", within: .seconds(60)) {
            for node in [owner, alice, bob] {
                let balances = try await Self.balances(node, group: group)
                guard balances[bobID] == 420, balances[aliceID] == 180 else { return false }
            }
            return true
        }

        // A disputed task: Bob fails it, Alice disputes instead of cancelling, the owner rules.
        let second = try await alice.client.createBoardTask(
            group: group, BoardCreateRequest(title: "write the report", assignee: bobID, reward: 80, arbiter: ownerID))
        try await MeshTests.eventually("Bob's node sees the second task", within: .seconds(60)) {
            try await bob.client.board(group: group).tasks.contains { $0.id == second.id }
        }
        _ = try await bob.client.moveBoardTask(group: group, task: second.id, .fail(reason: "no data"))
        try await MeshTests.eventually("Alice's node sees the failure", within: .seconds(60)) {
            try await alice.client.board(group: group).tasks.first { $0.id == second.id }?.state == "failed"
        }
        _ = try await alice.client.moveBoardTask(group: group, task: second.id, .dispute(reason: "the data was attached"))
        try await MeshTests.eventually("the owner's node sees the dispute", within: .seconds(60)) {
            try await owner.client.board(group: group).tasks.first { $0.id == second.id }?.state == "disputed"
        }
        #expect(await GroupTests.refusal { _ = try await bob.client.moveBoardTask(group: group, task: second.id, .rule(to: bobID)) } == .forbidden)
        let ruled = try await owner.client.moveBoardTask(group: group, task: second.id, .rule(to: aliceID))
        #expect(ruled.state == "ruled" && ruled.payee == aliceID)
        // An open task cancelled: its reward comes back too.
        let third = try await alice.client.createBoardTask(group: group, BoardCreateRequest(title: "never mind", reward: 30))
        _ = try await alice.client.moveBoardTask(group: group, task: third.id, .cancel)
        try await MeshTests.eventually("Alice has her ruled and cancelled rewards back on every node", within: .seconds(60)) {
            for node in [owner, alice, bob] {
                let ledger = try await node.client.ledger(group: group)
                let balances = Dictionary(uniqueKeysWithValues: ledger.accounts.map { ($0.agent, $0.balance) })
                guard balances[aliceID] == 180, balances[bobID] == 420, ledger.inFlight == 0 else { return false }
            }
            return true
        }
        let ledger = try await owner.client.ledger(group: group)
        #expect(ledger.minted == (try await Self.balances(owner, group: group)).values.reduce(0, +))
    }

    /// A member forks its feed where only the owner's node sees both sides: the owner's node
    /// puts the proof in the group, and every member's node, Alice's too, freezes the
    /// forker's account from the fork (its receipt there no longer counts).
    @Test func aForkProofSpreadsInTheGroupAndFreezesTheAccountEverywhere() async throws {
        let economy = try await Self.economy("forks", policy: PolicyRequest(currency: "credits", supplyCap: 10_000, faucet: 100))
        let (owner, alice, bob, group) = (economy.owner, economy.alice, economy.bob, economy.group)
        let (aliceID, bobID) = (economy.aliceID, economy.bobID)
        // Bob's receipt of the faucet is his last entry; he signs another at its seq and
        // hands it to the owner's node alone.
        let receipt = try #require(try await bob.client.feed(author: bobID.description, limit: 1).entries.first)
        try await MeshTests.eventually("the owner's node holds Bob's receipt", within: .seconds(60)) {
            try await owner.client.feed(author: bobID.description, limit: 1).entries.first?.id == receipt.id
        }
        let bobKey = try DataDirectory(bob.directory.path).sealedKey().open(passphrase: nil)
        var fork = Plexus_EntryBody()
        fork.author = bobID.bytes.asData
        fork.seq = receipt.seq
        fork.prev = receipt.prev.map { Data($0.bytes) } ?? Data()
        fork.timeMs = 1
        fork.type = "insight"
        fork.content = Data(#"{"text":"the other side"}"#.utf8)
        let forked = try SignedEntry(signing: fork, with: bobKey).encoded()
        #expect(await GroupTests.refusal { _ = try await owner.client.submit(entry: forked) } == .forkDetected)

        try await MeshTests.eventually("every node freezes Bob's account from the fork", within: .seconds(60)) {
            for node in [owner, alice, bob] {
                let ledger = try await node.client.ledger(group: group)
                guard let account = ledger.accounts.first(where: { $0.agent == bobID }),
                      account.frozenFrom == receipt.seq, account.balance == 0, account.receivable == 100
                else { return false }
            }
            return true
        }
        // Only now does Alice's node receive the other side (it froze the account from the
        // group's proof above); it is a fork there too.
        #expect(await GroupTests.refusal { _ = try await alice.client.submit(entry: forked) } == .forkDetected)
        #expect(try await Self.balances(alice, group: group)[aliceID] == 100)
    }

    /// The ledger threats tried with entries signed by hand, past what a member's own node
    /// would sign: a mint by a member and an overspend (refused on every node, while a
    /// well-formed transfer signed the same way counts), a mint past the cap by the treasury,
    /// a replayed transfer (no effect), and a removed member's transfer signed after its
    /// cutoff by a node that had not heard of the removal (refused by every member's node,
    /// through the one ingest path that gossip and sync use too).
    @Test func handSignedMintsOverspendsReplaysAndLateTransfersAreRefusedEverywhere() async throws {
        let policy = PolicyRequest(currency: "credits", supplyCap: 1_000, faucet: 100)
        let economy = try await Self.economy("threats", policy: policy)
        let (owner, alice, bob, group) = (economy.owner, economy.alice, economy.bob, economy.group)
        let (ownerID, aliceID, bobID) = (economy.ownerID, economy.aliceID, economy.bobID)
        let policyID = try #require(try await alice.client.ledger(group: group).policy?.id)
        func raw(_ node: ServeProcess, _ type: String, prev: EntryID, _ fields: [String: JSONValue]) async throws -> EntryID {
            let content = fields.merging(["prev": .string(prev.hex), "policy": .string(policyID.hex)]) { $1 }
            return try await node.client.publish(group: group, PublishRequest(type: type, content: .object(content))).id
        }
        func refusals(_ node: ServeProcess) async throws -> [EntryID: String] {
            Dictionary(uniqueKeysWithValues: try await node.client.ledger(group: group).refused.map { ($0.id, $0.reason) })
        }

        // Alice, by hand on her chain: a mint, a send of more than she holds, then a send she can make.
        let receipt = try #require(try await alice.client.account(group: group, agent: aliceID, limit: 1).postings.first)
        let mint = try await raw(alice, "ledger.mint", prev: receipt.id, ["amount": .integer(500)])
        let overspend = try await raw(alice, "ledger.send", prev: mint, ["to": .string(bobID.hex), "amount": .integer(1_000), "fee": .integer(0)])
        let send = try await raw(alice, "ledger.send", prev: overspend, ["to": .string(bobID.hex), "amount": .integer(10), "fee": .integer(0)])
        try await MeshTests.eventually("every node refuses the mint and the overspend and counts the send", within: .seconds(60)) {
            for node in [owner, alice, bob] {
                let refused = try await refusals(node)
                guard refused[mint]?.hasPrefix("notTreasury") == true, refused[overspend]?.hasPrefix("insufficient") == true,
                      refused[send] == nil
                else { return false }
                let balances = try await Self.balances(node, group: group)
                guard balances[aliceID] == 90, balances[bobID] == 110 else { return false }
            }
            return true
        }
        // Her node writes on after them.
        #expect(try await alice.client.transfer(group: group, TransferRequest(to: bobID, amount: 5)).balance == 85)

        // The treasury, by hand, mints past the cap: refused everywhere.
        let treasuryHead = try #require(try await owner.client.account(group: group, agent: ownerID, limit: 1).postings.first)
        let pastCap = try await raw(owner, "ledger.mint", prev: treasuryHead.id, ["amount": .integer(policy.supplyCap)])
        try await MeshTests.eventually("every node refuses the mint past the cap", within: .seconds(60)) {
            for node in [owner, alice, bob] where try await refusals(node)[pastCap]?.hasPrefix("overCap") != true { return false }
            return true
        }

        // A replayed transfer changes nothing.
        try await MeshTests.eventually("Bob holds Alice's transfers", within: .seconds(60)) {
            let (onOwner, onBob) = (try await Self.balances(owner, group: group), try await Self.balances(bob, group: group))
            return onOwner[bobID] == 115 && onBob[bobID] == 115
        }
        let settled = try await Self.balances(owner, group: group)
        for node in [owner, bob] {
            #expect(try await node.client.submit(entry: try await GroupTests.encoded(send, from: alice)).created == false)
            #expect(try await Self.balances(node, group: group) == settled)
        }

        // Bob's node is away when the owner removes him; back on a network of its own it
        // still counts him a member and signs his transfer. Every other node refuses it.
        _ = try await bob.stop()
        _ = try await owner.client.removeMember(group: group, agent: bobID)
        let away = try await ServeProcess(directory: bob.directory, arguments: ["--network-key", "elsewhere"], announce: true)
        let late = try await away.client.transfer(group: group, TransferRequest(to: aliceID, amount: 50))
        #expect(late.balance == 65)
        let lateEntry = try await GroupTests.encoded(late.id, from: away)
        _ = try await away.stop()
        for node in [owner, alice] {
            #expect(await GroupTests.refusal { _ = try await node.client.submit(entry: lateEntry) } == .notMember)
        }
        for node in [owner, alice] {
            #expect(try await Self.balances(node, group: group) == settled)
            #expect(try await node.client.ledger(group: group).minted <= policy.supplyCap)
        }
    }
}
