import PlexusCore
import Testing
@testable import PlexusProtocol

/// The roster fold: causal order, strong removal, cutoffs, re-adds and epochs, with no
/// network; every case also folds the same entries in other orders.
@Suite struct GroupRosterTests {
    static func agent(_ n: UInt8) -> AgentID {
        AgentID(bytes: Array(repeating: n, count: 32))!
    }

    static func id(_ name: String) -> EntryID {
        EntryID(hashing: Array(name.utf8))
    }

    let owner = agent(1), alice = agent(2), bob = agent(3), carol = agent(4), dave = agent(5)
    let root = id("create")

    func control(_ name: String, by author: AgentID, after parents: [String], _ action: GroupControl.Action) -> GroupControl {
        GroupControl(id: Self.id(name), author: author, parents: parents.map { $0 == "create" ? root : Self.id($0) }, action: action)
    }

    var create: GroupControl {
        GroupControl(id: root, author: owner, parents: [], action: .create(name: "research"))
    }

    /// Folds `controls` in the given order, reversed, and shuffled with a few seeds, and
    /// checks every order gives the same roster.
    func fold(_ controls: [GroupControl]) -> GroupRoster {
        let roster = GroupRoster.fold(group: root, controls: controls)
        var orders = [Array(controls.reversed())]
        var random = GossipRandom(seed: 7)
        for _ in 0..<4 { orders.append(controls.shuffled(using: &random)) }
        for order in orders {
            let other = GroupRoster.fold(group: root, controls: order)
            #expect(other.members == roster.members)
            #expect(other.intervals == roster.intervals)
            #expect(other.applied == roster.applied)
            #expect(other.void == roster.void)
            #expect(other.epochHeads == roster.epochHeads)
        }
        return roster
    }

    @Test func createAddAndRemoveGiveRolesAndWritingIntervals() {
        let roster = fold([
            create,
            control("add-alice", by: owner, after: ["create"], .add(member: alice, role: .manager, fromSeq: 4, shares: [root])),
            control("add-bob", by: alice, after: ["add-alice"], .add(member: bob, role: .member, fromSeq: 10, shares: [root])),
            control("add-carol", by: alice, after: ["add-bob"], .add(member: carol, role: .reader, fromSeq: 0, shares: [root])),
            control("remove-bob", by: alice, after: ["add-carol"], .remove(member: bob, cutoff: 12, rekeyedTo: [owner, alice, carol])),
        ])
        #expect(roster.name == "research")
        #expect(roster.members == [owner: .owner, alice: .manager, carol: .reader])
        #expect(roster.void.isEmpty && roster.pending.isEmpty)
        #expect(roster.heads == [Self.id("remove-bob")])
        // Bob wrote from 10 through 12; Carol reads only; Alice from 4 on.
        #expect(!roster.accepts(author: bob, seq: 9) && roster.accepts(author: bob, seq: 10))
        #expect(roster.accepts(author: bob, seq: 12) && !roster.accepts(author: bob, seq: 13))
        #expect(!roster.accepts(author: carol, seq: 1))
        #expect(roster.accepts(author: alice, seq: 4) && !roster.accepts(author: alice, seq: 3))
        // The removal rekeyed to exactly the members: that epoch is the one to write under.
        #expect(roster.sendingEpoch == Self.id("remove-bob"))
    }

    @Test func aMemberWithoutTheManagerRoleCannotAddRemoveOrRekey() {
        let roster = fold([
            create,
            control("add-bob", by: owner, after: ["create"], .add(member: bob, role: .member, fromSeq: 1, shares: [root])),
            control("add-carol", by: owner, after: ["add-bob"], .add(member: carol, role: .member, fromSeq: 1, shares: [root])),
            control("bob-adds", by: bob, after: ["add-carol"], .add(member: dave, role: .member, fromSeq: 1, shares: [root])),
            control("bob-removes", by: bob, after: ["add-carol"], .remove(member: carol, cutoff: 5, rekeyedTo: nil)),
            control("bob-rekeys", by: bob, after: ["add-carol"], .rekey(recipients: [owner, bob])),
            control("bob-promotes", by: bob, after: ["add-carol"], .setRole(member: bob, role: .manager, atSeq: 1)),
        ])
        for name in ["bob-adds", "bob-removes", "bob-rekeys", "bob-promotes"] {
            #expect(roster.void[Self.id(name)] == .notPermitted, "\(name)")
        }
        #expect(roster.members == [owner: .owner, bob: .member, carol: .member])
        // A manager may not appoint managers either; the owner may.
        let managers = fold([
            create,
            control("add-alice", by: owner, after: ["create"], .add(member: alice, role: .manager, fromSeq: 1, shares: [])),
            control("alice-appoints", by: alice, after: ["add-alice"], .add(member: bob, role: .manager, fromSeq: 1, shares: [])),
            control("owner-appoints", by: owner, after: ["add-alice"], .add(member: carol, role: .manager, fromSeq: 1, shares: [])),
        ])
        #expect(managers.void[Self.id("alice-appoints")] == .notPermitted)
        #expect(managers.members[carol] == .manager && managers.members[bob] == nil)
    }

    @Test func aRemovedManagersConcurrentActionsAreVoidAndItsLaterOnesRefused() {
        let roster = fold([
            create,
            control("add-alice", by: owner, after: ["create"], .add(member: alice, role: .manager, fromSeq: 1, shares: [])),
            // Concurrently: the owner removes Alice; Alice adds Bob.
            control("remove-alice", by: owner, after: ["add-alice"], .remove(member: alice, cutoff: 3, rekeyedTo: [owner])),
            control("alice-adds-bob", by: alice, after: ["add-alice"], .add(member: bob, role: .member, fromSeq: 1, shares: [])),
            // After seeing her removal, Alice still tries.
            control("alice-adds-carol", by: alice, after: ["remove-alice", "alice-adds-bob"],
                    .add(member: carol, role: .member, fromSeq: 1, shares: [])),
        ])
        #expect(roster.void[Self.id("alice-adds-bob")] == .revokedConcurrently)
        #expect(roster.void[Self.id("alice-adds-carol")] == .notPermitted)
        #expect(roster.members == [owner: .owner])
        #expect(roster.accepts(author: alice, seq: 3) && !roster.accepts(author: alice, seq: 4))
    }

    @Test func twoOwnersRemovingEachOtherAtOnceAreBothRemovedAndConcurrentCutoffsTakeTheHigher() {
        let roster = fold([
            create,
            control("add-alice", by: owner, after: ["create"], .add(member: alice, role: .owner, fromSeq: 1, shares: [])),
            control("add-carol", by: owner, after: ["add-alice"], .add(member: carol, role: .member, fromSeq: 1, shares: [])),
            // Two removals of Carol at once, by each owner, with different cutoffs.
            control("owner-removes-carol", by: owner, after: ["add-carol"], .remove(member: carol, cutoff: 5, rekeyedTo: nil)),
            control("alice-removes-carol", by: alice, after: ["add-carol"], .remove(member: carol, cutoff: 8, rekeyedTo: nil)),
            // And the two owners removing each other: a removal is never voided by a
            // concurrent one, so both go.
            control("owner-removes-alice", by: owner, after: ["add-carol"], .remove(member: alice, cutoff: 2, rekeyedTo: nil)),
            control("alice-removes-owner", by: alice, after: ["add-carol"], .remove(member: owner, cutoff: 3, rekeyedTo: nil)),
        ])
        #expect(roster.members.isEmpty)
        #expect(roster.void.isEmpty)
        #expect(roster.accepts(author: carol, seq: 8) && !roster.accepts(author: carol, seq: 9))
        #expect(roster.accepts(author: alice, seq: 2) && !roster.accepts(author: alice, seq: 3))
        #expect(roster.accepts(author: owner, seq: 3) && !roster.accepts(author: owner, seq: 4))
    }

    /// `atSeq` is read from a control entry: the highest value opens nothing (it overflowed).
    @Test func aPromotionOpensTheFeedAfterTheSeqTheAuthorSawEvenAtTheHighestSeq() {
        func promoted(at seq: UInt64) -> GroupRoster {
            fold([
                create,
                control("add-alice", by: owner, after: ["create"], .add(member: alice, role: .reader, fromSeq: 1, shares: [])),
                control("promote-alice", by: owner, after: ["add-alice"], .setRole(member: alice, role: .member, atSeq: seq)),
            ])
        }
        let atFour = promoted(at: 4)
        #expect(atFour.members[alice] == .member)
        #expect(atFour.accepts(author: alice, seq: 5) && !atFour.accepts(author: alice, seq: 4))
        let atMax = promoted(at: .max)
        #expect(atMax.members[alice] == .member)
        #expect(!atMax.accepts(author: alice, seq: 5))

        // Removed with the highest cutoff and added again: nothing after it opens (the
        // floor after the closed interval overflowed).
        let readded = fold([
            create,
            control("add-alice", by: owner, after: ["create"], .add(member: alice, role: .member, fromSeq: 1, shares: [])),
            control("remove-alice", by: owner, after: ["add-alice"], .remove(member: alice, cutoff: .max, rekeyedTo: nil)),
            control("add-alice-again", by: owner, after: ["remove-alice"], .add(member: alice, role: .member, fromSeq: 1, shares: [])),
        ])
        #expect(readded.members[alice] == .member)
        #expect(readded.accepts(author: alice, seq: 5), "the first interval still holds up to its cutoff")
    }

    @Test func aDemotionVoidsConcurrentEntriesThatNeededTheRole() {
        let roster = fold([
            create,
            control("add-alice", by: owner, after: ["create"], .add(member: alice, role: .manager, fromSeq: 1, shares: [])),
            control("demote-alice", by: owner, after: ["add-alice"], .setRole(member: alice, role: .member, atSeq: 6)),
            control("alice-adds-bob", by: alice, after: ["add-alice"], .add(member: bob, role: .member, fromSeq: 1, shares: [])),
            // Demoted to reader, a member stops writing after the seq the owner saw.
            control("readerize-alice", by: owner, after: ["demote-alice", "alice-adds-bob"], .setRole(member: alice, role: .reader, atSeq: 7)),
        ])
        #expect(roster.void[Self.id("alice-adds-bob")] == .revokedConcurrently)
        #expect(roster.members == [owner: .owner, alice: .reader])
        #expect(roster.accepts(author: alice, seq: 7) && !roster.accepts(author: alice, seq: 8))
    }

    @Test func concurrentAddsAndRemovalsByTwoManagersConvergeWhateverTheOrder() {
        let roster = fold([
            create,
            control("add-alice", by: owner, after: ["create"], .add(member: alice, role: .manager, fromSeq: 1, shares: [])),
            control("add-bob", by: owner, after: ["add-alice"], .add(member: bob, role: .manager, fromSeq: 1, shares: [])),
            control("alice-adds-carol", by: alice, after: ["add-bob"], .add(member: carol, role: .member, fromSeq: 1, shares: [])),
            control("bob-adds-carol", by: bob, after: ["add-bob"], .add(member: carol, role: .reader, fromSeq: 1, shares: [])),
            control("alice-removes-dave-never-added", by: alice, after: ["add-bob"], .remove(member: dave, cutoff: 1, rekeyedTo: nil)),
            control("bob-adds-dave", by: bob, after: ["add-bob"], .add(member: dave, role: .member, fromSeq: 1, shares: [])),
            control("alice-removes-dave", by: alice, after: ["alice-adds-carol", "bob-adds-dave"], .remove(member: dave, cutoff: 2, rekeyedTo: nil)),
        ])
        // Two concurrent adds of Carol both count; of their roles the higher applies.
        #expect(roster.members[carol] == .member)
        #expect(roster.members[dave] == nil)
        #expect(roster.void[Self.id("alice-removes-dave-never-added")] == .notPermitted)
        #expect(roster.heads == [Self.id("alice-removes-dave"), Self.id("alice-removes-dave-never-added"), Self.id("bob-adds-carol")]
            .sorted(by: GroupRoster.precedes))
    }

    @Test func aReAddOpensANewIntervalAboveTheCutoff() {
        let roster = fold([
            create,
            control("add-bob", by: owner, after: ["create"], .add(member: bob, role: .member, fromSeq: 1, shares: [])),
            control("remove-bob", by: owner, after: ["add-bob"], .remove(member: bob, cutoff: 5, rekeyedTo: [owner])),
            control("readd-bob", by: owner, after: ["remove-bob"], .add(member: bob, role: .member, fromSeq: 9, shares: [])),
        ])
        #expect(roster.members[bob] == .member)
        #expect(roster.accepts(author: bob, seq: 5))
        #expect(!roster.accepts(author: bob, seq: 6) && !roster.accepts(author: bob, seq: 8))
        #expect(roster.accepts(author: bob, seq: 9) && roster.accepts(author: bob, seq: 1_000))
        // A re-add cannot reopen what a cutoff closed.
        let below = fold([
            create,
            control("add-bob", by: owner, after: ["create"], .add(member: bob, role: .member, fromSeq: 1, shares: [])),
            control("remove-bob", by: owner, after: ["add-bob"], .remove(member: bob, cutoff: 5, rekeyedTo: [owner])),
            control("readd-bob", by: owner, after: ["remove-bob"], .add(member: bob, role: .member, fromSeq: 2, shares: [])),
        ])
        #expect(below.accepts(author: bob, seq: 5) && below.accepts(author: bob, seq: 6))
        #expect(below.intervals[bob]?.count == 2 && below.intervals[bob]?.last?.from == 6)
    }

    @Test func entriesWithMissingParentsWaitAndMalformedOnesAreVoid() {
        let roster = fold([
            create,
            control("orphan", by: owner, after: ["never-seen"], .add(member: bob, role: .member, fromSeq: 1, shares: [])),
            control("child-of-orphan", by: owner, after: ["orphan"], .add(member: carol, role: .member, fromSeq: 1, shares: [])),
            GroupControl(id: Self.id("second-create"), author: bob, parents: [], action: .create(name: "x")),
            GroupControl(id: Self.id("no-parents"), author: owner, parents: [], action: .rekey(recipients: [owner])),
        ])
        #expect(roster.pending == [Self.id("orphan"), Self.id("child-of-orphan")])
        #expect(roster.void[Self.id("second-create")] == .malformed && roster.void[Self.id("no-parents")] == .malformed)
        #expect(roster.members == [owner: .owner])
        // Without the create nothing counts.
        let headless = GroupRoster.fold(group: root, controls: [
            control("add-bob", by: owner, after: ["create"], .add(member: bob, role: .member, fromSeq: 1, shares: [])),
        ])
        #expect(headless.members.isEmpty && headless.pending == [Self.id("add-bob")])
    }

    @Test func aMemberWhoLeavesWithoutRekeyingLeavesNoEpochToWriteUnderUntilAManagerRekeys() {
        let controls = [
            create,
            control("add-bob", by: owner, after: ["create"], .add(member: bob, role: .member, fromSeq: 1, shares: [root])),
            control("rekey", by: owner, after: ["add-bob"], .rekey(recipients: [owner, bob])),
            control("bob-leaves", by: bob, after: ["rekey"], .remove(member: bob, cutoff: 3, rekeyedTo: nil)),
        ]
        let left = fold(controls)
        #expect(left.members == [owner: .owner] && left.void.isEmpty)
        // Bob still holds the rekey's key: nothing may be sealed under it any more.
        #expect(left.epochHeads == [Self.id("rekey")] && left.sendingEpoch == nil && left.needsRekey)
        #expect(left.accepts(author: bob, seq: 3) && !left.accepts(author: bob, seq: 4))
        // A member may leave, but not rekey as it goes; a manager's rekey mends it.
        let mended = fold(controls + [control("rekey-2", by: owner, after: ["bob-leaves"], .rekey(recipients: [owner]))])
        #expect(mended.sendingEpoch == Self.id("rekey-2") && !mended.needsRekey)
        let overreach = fold(Array(controls.dropLast()) + [
            control("bob-leaves", by: bob, after: ["rekey"], .remove(member: bob, cutoff: 3, rekeyedTo: [owner])),
        ])
        #expect(overreach.void[Self.id("bob-leaves")] == .notPermitted && overreach.members[bob] == .member)
    }

    @Test func aManagerLeavingWithASplitRekeyFinishesItAfterItsRemoval() {
        let controls = [
            create,
            control("add-alice", by: owner, after: ["create"], .add(member: alice, role: .manager, fromSeq: 1, shares: [root])),
            control("add-bob", by: alice, after: ["add-alice"], .add(member: bob, role: .member, fromSeq: 1, shares: [root])),
            GroupControl(
                id: Self.id("alice-leaves"), author: alice, parents: [Self.id("add-bob")],
                action: .remove(member: alice, cutoff: 4, rekeyedTo: [owner]), parts: 2),
        ]
        let started = fold(controls)
        let epoch = Self.id("alice-leaves")
        // Bob's seal is still to come: the epoch is the one to write under, and not redone.
        #expect(started.sendingEpoch == epoch && !started.needsRekey && started.epochs[epoch]?.isComplete == false)
        let finished = fold(controls + [
            control("alice-continues", by: alice, after: ["alice-leaves"], .continueEpoch(epoch: epoch, recipients: [bob])),
        ])
        #expect(finished.void.isEmpty && finished.members == [owner: .owner, bob: .member])
        #expect(finished.epochs[epoch].map { $0.isComplete && $0.recipients == [owner, bob] } == true && !finished.needsRekey)
        // Nobody else may finish it, and a continuation must follow the epoch it names.
        let others = fold(controls + [
            control("owner-continues", by: owner, after: ["alice-leaves"], .continueEpoch(epoch: epoch, recipients: [bob])),
            control("alice-jumps-ahead", by: alice, after: ["add-bob"], .continueEpoch(epoch: epoch, recipients: [bob])),
        ])
        #expect(others.void[Self.id("owner-continues")] == .notPermitted && others.void[Self.id("alice-jumps-ahead")] == .notPermitted)
        #expect(others.epochs[epoch].map { !$0.isComplete && $0.recipients == [owner] } == true)
    }

    @Test func onlyTheOwnerChangesThePolicyAndNeverItsCurrencyCapOrTreasury() {
        let first = LedgerPolicy(currency: "credits", supplyCap: 1_000, treasury: owner, feeBasisPoints: 100)
        var cheaper = first
        cheaper.feeBasisPoints = 10
        var otherTreasury = first
        otherTreasury.treasury = alice
        let controls = [
            GroupControl(id: root, author: owner, parents: [], action: .create(name: "research"), policy: first),
            control("add-alice", by: owner, after: ["create"], .add(member: alice, role: .manager, fromSeq: 1, shares: [root])),
            control("alice-sets", by: alice, after: ["add-alice"], .setPolicy(cheaper)),
            control("owner-sets", by: owner, after: ["add-alice"], .setPolicy(cheaper)),
            control("owner-moves-treasury", by: owner, after: ["owner-sets"], .setPolicy(otherTreasury)),
        ]
        let roster = fold(controls)
        #expect(roster.policies.map(\.id) == [root, Self.id("owner-sets")] && roster.policy == cheaper)
        #expect(roster.void[Self.id("alice-sets")] == .notPermitted && roster.void[Self.id("owner-moves-treasury")] == .malformed)
    }

    @Test func aMemberAddedConcurrentlyWithARekeyCannotReadTheNewEpochUntilTheNextRekey() {
        let controls = [
            create,
            control("add-alice", by: owner, after: ["create"], .add(member: alice, role: .manager, fromSeq: 1, shares: [root])),
            control("add-bob", by: owner, after: ["add-alice"], .add(member: bob, role: .member, fromSeq: 1, shares: [root])),
            // Concurrently: the owner removes Bob (rekeying to itself and Alice); Alice adds
            // Carol, sharing the create's epoch, which Bob also holds.
            control("remove-bob", by: owner, after: ["add-bob"], .remove(member: bob, cutoff: 1, rekeyedTo: [owner, alice])),
            control("add-carol", by: alice, after: ["add-bob"], .add(member: carol, role: .member, fromSeq: 1, shares: [root])),
        ]
        let split = fold(controls)
        #expect(split.members == [owner: .owner, alice: .manager, carol: .member])
        // The only epoch head, remove-bob's, may be written under (its recipients are all
        // members) but lacks Carol: a rekey is due.
        #expect(split.epochHeads == [Self.id("remove-bob")])
        #expect(split.sendingEpoch == Self.id("remove-bob") && split.needsRekey)
        let mended = fold(controls + [
            control("rekey", by: alice, after: ["remove-bob", "add-carol"], .rekey(recipients: [owner, alice, carol])),
        ])
        #expect(mended.sendingEpoch == Self.id("rekey") && !mended.needsRekey)
    }
}
