import Crypto
import Foundation
import PlexusCore
import Testing
@testable import PlexusProtocol

/// Signed control entries and sealed entries as they travel: decoding, refusal of
/// malformed ones, the key ring opening what was sealed to an agent (and the history
/// wrapped under it), and a removed member locked out of the next epoch.
@Suite struct GroupEntriesTests {
    let owner = AgentKey()
    let bob = AgentKey()
    let carol = AgentKey()
    let topic = "group/00112233445566778899aabbccddeeff"

    /// Signs a control entry of `author` at `seq`.
    func sign(_ type: String, _ message: Plexus_GroupControl, by author: AgentKey, seq: UInt64, parents: [EntryID] = []) throws -> SignedEntry {
        var body = Plexus_EntryBody()
        body.author = author.id.bytes.asData
        body.seq = seq
        if seq > 1 { body.prev = Data(EntryID(hashing: Data("seq \(seq - 1)".utf8)).bytes) }
        body.timeMs = 1_000
        body.type = type
        body.topic = topic
        body.refs = parents.map { $0.bytes.asData }
        body.content = try message.serializedBytes()
        return try SignedEntry(signing: body, with: author)
    }

    func create(key: SymmetricKey) throws -> ControlEntry {
        var message = Plexus_GroupControl()
        var create = Plexus_GroupCreate()
        create.name = "research"
        create.creatorKey = ExchangeKey.binding(of: owner).wire
        create.epoch = try GroupKeyRing.epochKeys(key, to: [ExchangeKey.binding(of: owner)], wrapping: [])
        message.create = create
        return try ControlEntry(try sign(GroupEntryType.create, message, by: owner, seq: 1))
    }

    func add(_ member: AgentKey, group: EntryID, parents: [EntryID], sharing epochs: [(EntryID, SymmetricKey)], seq: UInt64) throws -> ControlEntry {
        var add = Plexus_GroupAdd()
        add.member = member.id.bytes.asData
        add.role = "member"
        add.memberKey = ExchangeKey.binding(of: member).wire
        for (epoch, key) in epochs {
            var share = Plexus_EpochShare()
            share.epoch = epoch.bytes.asData
            share.sealed = try GroupKeyRing.sealed(key, to: ExchangeKey.binding(of: member))
            add.shares.append(share)
        }
        var message = Plexus_GroupControl()
        message.group = group.bytes.asData
        message.add = add
        return try ControlEntry(try sign(GroupEntryType.add, message, by: owner, seq: seq, parents: parents))
    }

    @Test func membersOpenWhatWasSealedToThemAndARemovedMemberNotTheNextEpoch() throws {
        let first = GroupKeyRing.freshKey()
        let created = try create(key: first)
        let group = created.group
        #expect(group == created.entry.id)
        let addBob = try add(bob, group: group, parents: [group], sharing: [(group, first)], seq: 2)
        let addCarol = try add(carol, group: group, parents: [addBob.entry.id], sharing: [(group, first)], seq: 3)

        // Bob writes under the first epoch; Carol opens it.
        let inner = try GroupInner(type: "claim", tags: ["lab"], content: .object(["text": .string("the sky is blue")])).serialized()
        var body = Plexus_EntryBody()
        body.author = bob.id.bytes.asData
        body.seq = 1
        body.timeMs = 2_000
        body.type = GroupEntryType.sealed
        body.topic = topic
        body.content = try SealedEntry.seal(inner, group: group, epoch: group, epochKey: first, author: bob.id, seq: 1)
        let sealed = try SignedEntry(signing: body, with: bob)
        #expect(!sealed.content.contains(Data("sky".utf8)) && !sealed.content.contains(Data("claim".utf8)))

        var carolsRing = GroupKeyRing()
        carolsRing.absorb([created, addBob, addCarol], me: carol.id, exchangeKey: ExchangeKey(agent: carol))
        let key = try #require(carolsRing[group])
        let opened = try SealedEntry.open(sealed, group: group, epochKey: key)
        #expect(opened.type == "claim" && opened.tags == ["lab"] && opened.content == .object(["text": .string("the sky is blue")]))

        // The owner removes Bob and rekeys to itself and Carol, wrapping the first key.
        let second = GroupKeyRing.freshKey()
        var remove = Plexus_GroupRemove()
        remove.member = bob.id.bytes.asData
        remove.cutoff = 1
        remove.rekey = try GroupKeyRing.epochKeys(
            second, to: [ExchangeKey.binding(of: owner), ExchangeKey.binding(of: carol)], wrapping: [(group, first)])
        var message = Plexus_GroupControl()
        message.group = group.bytes.asData
        message.remove = remove
        let removal = try ControlEntry(try sign(GroupEntryType.remove, message, by: owner, seq: 4, parents: [addCarol.entry.id]))
        let controls = [created, addBob, addCarol, removal]
        let roster = GroupRoster.fold(group: group, controls: controls.map(\.control))
        #expect(roster.members.keys.sorted() == [owner.id, carol.id].sorted())
        #expect(roster.sendingEpoch == removal.entry.id && !roster.needsRekey)
        #expect(roster.accepts(author: bob.id, seq: 1) && !roster.accepts(author: bob.id, seq: 2))

        var bobsRing = GroupKeyRing()
        bobsRing.absorb(controls, me: bob.id, exchangeKey: ExchangeKey(agent: bob))
        #expect(bobsRing[group] != nil && bobsRing[removal.entry.id] == nil)

        // A newcomer given only the second key reads the first epoch through the wrap.
        let dave = AgentKey()
        let addDave = try add(dave, group: group, parents: [removal.entry.id], sharing: [(removal.entry.id, second)], seq: 5)
        var davesRing = GroupKeyRing()
        let newlyOpened = davesRing.absorb(controls + [addDave], me: dave.id, exchangeKey: ExchangeKey(agent: dave))
        #expect(Set(newlyOpened) == [group, removal.entry.id])
        #expect(try SealedEntry.open(sealed, group: group, epochKey: #require(davesRing[group])) == opened)
    }

    @Test func malformedControlEntriesAndEnvelopesAreRefusedWithTypedErrors() throws {
        let created = try create(key: GroupKeyRing.freshKey())
        // An add whose member key is signed by someone else.
        var add = Plexus_GroupAdd()
        add.member = bob.id.bytes.asData
        add.role = "member"
        add.memberKey = ExchangeKey.binding(of: carol).wire
        var message = Plexus_GroupControl()
        message.group = created.group.bytes.asData
        message.add = add
        let forged = try sign(GroupEntryType.add, message, by: owner, seq: 2, parents: [created.group])
        #expect(throws: PlexusError.self) { try ControlEntry(forged) }
        // The same add with Bob's own key decodes; with an unknown role, or without
        // parents, or with content that is not a GroupControl, it does not.
        add.memberKey = ExchangeKey.binding(of: bob).wire
        message.add = add
        _ = try ControlEntry(try sign(GroupEntryType.add, message, by: owner, seq: 2, parents: [created.group]))
        #expect(throws: PlexusError.self) { try ControlEntry(try sign(GroupEntryType.add, message, by: owner, seq: 2)) }
        add.role = "king"
        message.add = add
        #expect(throws: PlexusError.self) { try ControlEntry(try sign(GroupEntryType.add, message, by: owner, seq: 2, parents: [created.group])) }
        var junk = Plexus_EntryBody()
        junk.author = owner.id.bytes.asData
        junk.seq = 2
        junk.prev = Data(created.group.bytes)
        junk.type = GroupEntryType.add
        junk.topic = topic
        junk.content = Data("{\"member\": \"bob\"}".utf8)
        do {
            _ = try ControlEntry(try SignedEntry(signing: junk, with: owner))
            Issue.record("a JSON add was accepted")
        } catch {
            #expect(error.code == .malformedEnvelope)
        }
        // A sealed entry with tags outside, or content that is no envelope, is refused.
        junk.type = GroupEntryType.sealed
        do {
            _ = try SealedEntry.epoch(of: try SignedEntry(signing: junk, with: owner))
            Issue.record("JSON content was taken for an envelope")
        } catch {
            #expect(error.code == .malformedEnvelope)
        }
    }

    /// A rekey split over a start and continuations: every member opens the key whichever
    /// part seals it, the epoch is due no rekey while parts are missing, and a continuation
    /// by anyone but the epoch's author, or a malformed one, does not count.
    @Test func aRekeySplitOverSeveralEntriesReachesEveryMember() throws {
        let first = GroupKeyRing.freshKey()
        let created = try create(key: first)
        let group = created.group
        let members = (0..<5).map { _ in AgentKey() }
        var controls = [created]
        var seq: UInt64 = 1
        for member in members {
            seq += 1
            controls.append(try add(member, group: group, parents: [controls[controls.count - 1].entry.id], sharing: [], seq: seq))
        }
        // Six recipients, three seals per entry (the first gives one place to the wrapped
        // key): a start and two continuations.
        let second = GroupKeyRing.freshKey()
        let recipients = [owner] + members
        let parts = try GroupKeyRing.epochParts(
            second, to: recipients.map { ExchangeKey.binding(of: $0) }, wrapping: [(group, first)], sealsPerPart: 3)
        #expect(parts.count == 3 && parts[0].parts == 3 && parts[0].previous.count == 1 && parts.dropFirst().allSatisfy { $0.parts == 0 })
        var message = Plexus_GroupControl()
        message.group = group.bytes.asData
        message.rekey = parts[0]
        seq += 1
        let start = try ControlEntry(try sign(GroupEntryType.rekey, message, by: owner, seq: seq, parents: [controls[controls.count - 1].entry.id]))
        var run = [start]
        for part in parts.dropFirst() {
            var continuation = part
            continuation.continues = start.entry.id.bytes.asData
            message.rekey = continuation
            seq += 1
            run.append(try ControlEntry(try sign(GroupEntryType.rekey, message, by: owner, seq: seq, parents: [run[run.count - 1].entry.id])))
        }
        #expect(run.dropFirst().allSatisfy { $0.sealedEpoch == start.entry.id })

        // With only the start held, the epoch is the one to write under and no rekey is due.
        let partial = GroupRoster.fold(group: group, controls: (controls + [start]).map(\.control))
        #expect(partial.sendingEpoch == start.entry.id && !partial.needsRekey)
        #expect(partial.epochs[start.entry.id].map { !$0.isComplete && $0.recipients.count == 2 } == true)

        let whole = GroupRoster.fold(group: group, controls: (controls + run).map(\.control))
        #expect(whole.epochs[start.entry.id].map { $0.isComplete && $0.recipients == Set(recipients.map(\.id)) } == true)
        #expect(whole.sendingEpoch == start.entry.id && !whole.needsRekey && whole.void.isEmpty)
        for member in members {
            var ring = GroupKeyRing()
            ring.absorb(controls + run, me: member.id, exchangeKey: ExchangeKey(agent: member))
            #expect(ring[start.entry.id].map { $0 == second } == true && ring[group].map { $0 == first } == true)
        }

        // A member's "continuation" of the owner's epoch does not count, but the missing
        // part it stands in for is still awaited.
        var forged = parts[2]
        forged.continues = start.entry.id.bytes.asData
        message.rekey = forged
        let bogus = try ControlEntry(try sign(GroupEntryType.rekey, message, by: members[0], seq: 1, parents: [run[1].entry.id]))
        let withBogus = GroupRoster.fold(group: group, controls: (controls + Array(run.prefix(2)) + [bogus]).map(\.control))
        #expect(withBogus.void[bogus.entry.id] == .notPermitted)
        #expect(withBogus.epochs[start.entry.id].map { !$0.isComplete && !$0.recipients.contains(members[4].id) } == true)

        // Malformed continuations: a short epoch id, wrapped keys, a part count.
        for broken in [{ (keys: inout Plexus_EpochKeys) in keys.continues = Data(repeating: 1, count: 8) },
                       { keys in keys.previous = parts[0].previous },
                       { keys in keys.parts = 2 }] {
            var keys = forged
            broken(&keys)
            message.rekey = keys
            #expect(throws: PlexusError.self) { try ControlEntry(try sign(GroupEntryType.rekey, message, by: owner, seq: 20, parents: [start.entry.id])) }
        }
        // An epoch may not claim more than 64 parts.
        var greedy = parts[0]
        greedy.parts = UInt32(ControlEntry.maxEpochParts + 1)
        message.rekey = greedy
        #expect(throws: PlexusError.self) { try ControlEntry(try sign(GroupEntryType.rekey, message, by: owner, seq: 20, parents: [start.entry.id])) }
    }


    /// A create carries the token policy (its treasury, left empty, is the creator); a
    /// `group.policy` must name its treasury, and amounts and fees out of range are refused.
    @Test func policiesDecodeFromCreateAndGroupPolicyEntries() throws {
        var wire = Plexus_GroupPolicy()
        wire.currency = "credits"
        wire.supplyCap = 1_000_000
        wire.feeBasisPoints = 50
        var message = Plexus_GroupControl()
        var create = Plexus_GroupCreate()
        create.name = "market"
        create.creatorKey = ExchangeKey.binding(of: owner).wire
        create.epoch = try GroupKeyRing.epochKeys(GroupKeyRing.freshKey(), to: [ExchangeKey.binding(of: owner)], wrapping: [])
        create.policy = wire
        message.create = create
        let created = try ControlEntry(try sign(GroupEntryType.create, message, by: owner, seq: 1))
        #expect(created.control.policy == LedgerPolicy(currency: "credits", supplyCap: 1_000_000, treasury: owner.id, feeBasisPoints: 50))

        var change = Plexus_GroupControl()
        change.group = created.group.bytes.asData
        change.policy = wire
        #expect(throws: PlexusError.self) { try ControlEntry(try sign(GroupEntryType.policy, change, by: owner, seq: 2, parents: [created.group])) }
        wire.treasury = owner.id.bytes.asData
        change.policy = wire
        let named = try ControlEntry(try sign(GroupEntryType.policy, change, by: owner, seq: 2, parents: [created.group]))
        #expect(named.control.action == .setPolicy(LedgerPolicy(currency: "credits", supplyCap: 1_000_000, treasury: owner.id, feeBasisPoints: 50)))
        for broken in [{ (policy: inout Plexus_GroupPolicy) in policy.supplyCap = 1 << 60 },
                       { policy in policy.feeBasisPoints = 10_001 },
                       { policy in policy.currency = "" }] {
            var bad = wire
            broken(&bad)
            change.policy = bad
            #expect(throws: PlexusError.self) { try ControlEntry(try sign(GroupEntryType.policy, change, by: owner, seq: 2, parents: [created.group])) }
        }
    }

}
