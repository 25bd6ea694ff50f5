import PlexusCore

/// One signed control entry of a group, decoded: what `GroupRoster` folds. `parents` are
/// the control entries the author had seen (the heads of the control graph it built on):
/// they give the causal order the fold follows.
public struct GroupControl: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// The group's first entry; its id is the group's id.
        case create(name: String)
        /// Adds `member`; it may write from its feed's `fromSeq` on (when its role writes),
        /// and it gets the epoch keys `shares` sealed to it.
        case add(member: AgentID, role: GroupRole, fromSeq: UInt64, shares: [EntryID])
        /// Removes `member` (by a manager, or by the member itself: leaving); its entries
        /// above `cutoff` are refused for ever. With `rekeyedTo`, the entry also starts an
        /// epoch sealed to those of the remaining members.
        case remove(member: AgentID, cutoff: UInt64, rekeyedTo: RecipientSet?)
        /// Changes `member`'s role; `atSeq` is its feed's head seen by the author, where a
        /// change to or from `reader` closes or opens its writing.
        case setRole(member: AgentID, role: GroupRole, atSeq: UInt64)
        /// Starts an epoch: a fresh key sealed to those of the members in `recipients`.
        case rekey(recipients: RecipientSet)
        /// Seals the key of `epoch`, started by the same author in this entry's past, to
        /// more of the members: the rest of an epoch too large for one entry.
        case continueEpoch(epoch: EntryID, recipients: RecipientSet)
        /// The owner sets the group's token policy (PROTOCOL.md §14.1).
        case setPolicy(LedgerPolicy)
    }

    public let id: EntryID
    public let author: AgentID
    public let parents: [EntryID]
    public let action: Action
    /// For an entry that starts an epoch: how many entries its seals span (itself and the
    /// continuations that follow it).
    public let parts: Int
    /// The token policy a `group.create` sets, if any.
    public let policy: LedgerPolicy?

    public init(id: EntryID, author: AgentID, parents: [EntryID], action: Action, parts: Int = 1, policy: LedgerPolicy? = nil) {
        self.id = id
        self.author = author
        self.parents = parents
        self.action = action
        self.parts = max(1, parts)
        self.policy = policy
    }

    /// Whether the entry starts an epoch (create, rekey, or a removal that rekeys).
    public var startsEpoch: Bool {
        switch action {
        case .create, .rekey: true
        case .remove(_, _, let rekeyedTo): rekeyedTo != nil
        case .add, .setRole, .continueEpoch, .setPolicy: false
        }
    }
}

/// The agents an epoch key is sealed to, as the wire names them: by the first 8 bytes of
/// their ids (PROTOCOL.md §13.3). The fold resolves them against the roster.
public struct RecipientSet: Sendable, Equatable, ExpressibleByArrayLiteral {
    public let prefixes: Set<UInt64>

    public init(prefixes: Set<UInt64>) {
        self.prefixes = prefixes
    }

    public init(_ agents: some Sequence<AgentID>) {
        self.prefixes = Set(agents.map(Self.prefix(of:)))
    }

    public init(arrayLiteral agents: AgentID...) {
        self.init(agents)
    }

    /// The first 8 bytes of an agent id, big-endian.
    public static func prefix(of agent: AgentID) -> UInt64 {
        agent.bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    public func contains(_ agent: AgentID) -> Bool {
        prefixes.contains(Self.prefix(of: agent))
    }
}

/// Seqs of a member's feed whose entries the group accepts: `from` through `to` (open
/// while `to` is nil).
public struct WritingInterval: Sendable, Equatable {
    public var from: UInt64
    public var to: UInt64?
    /// The control entry that closed the interval (a later one concurrent with it may
    /// raise `to`: of concurrent cutoffs the highest applies).
    var closedBy: EntryID?

    public func contains(_ seq: UInt64) -> Bool {
        seq >= from && (to.map { seq <= $0 } ?? true)
    }
}

/// A group's roster as a deterministic fold of its control entries in causal order
/// (DESIGN §9): every node holding the same control entries computes the same roster,
/// whatever order they arrived in.
///
/// Rules:
/// - An entry counts when its author held the role it needs in the roster of the entry's
///   causal past (the control entries it built on, counted by these same rules).
/// - Strong removal: an entry that needs a role is void when a counted *revocation* of that
///   role from its author (a removal, or a role lowered below the one needed) is concurrent
///   with it (neither in the other's past). Revocations themselves are checked against
///   their causal past only, so two managers removing each other at once are both removed.
/// - A removal closes the member's writing at its cutoff seq; of concurrent removals the
///   highest cutoff applies; entries above it are refused on any fork. A later add opens a
///   new interval from its `fromSeq`, never below a cutoff.
/// - Concurrent adds of one agent all count, and the highest role applies.
/// - Entries whose parents are not all held wait (`pending`); a second create, or a
///   non-create without parents, is void.
public struct GroupRoster: Sendable {
    /// Why a control entry does not count.
    public enum VoidReason: String, Sendable, Equatable {
        /// Its author lacked the role it needs, or it names a non-member, in its causal past.
        case notPermitted
        /// A concurrent revocation took the role it needs from its author.
        case revokedConcurrently
        /// Not a well-formed part of this group's control graph.
        case malformed
    }

    /// An epoch key: started by the create, a rekey or a rekeying removal.
    public struct Epoch: Sendable, Equatable {
        public let id: EntryID
        /// Agents the key is sealed to (by the epoch's entries or by later adds).
        public var recipients: Set<AgentID>
        /// Entries the epoch's seals span, and how many of them this node holds.
        public var parts = 1
        public var heldParts = 1

        /// Whether every entry of the epoch's seals is held (a continuation that does not
        /// count still counts as held: nothing more will come of it).
        public var isComplete: Bool { heldParts >= parts }
    }

    public let group: EntryID
    public private(set) var name: String?
    /// Current members and their roles.
    public private(set) var members: [AgentID: GroupRole] = [:]
    /// Every writing interval each agent ever had.
    public private(set) var intervals: [AgentID: [WritingInterval]] = [:]
    /// Control entries that count, in fold order.
    public private(set) var applied: [EntryID] = []
    public private(set) var void: [EntryID: VoidReason] = [:]
    /// Control entries waiting for parents not held yet.
    public private(set) var pending: Set<EntryID> = []
    /// Held control entries no other held one builds on: a new control entry's parents.
    public private(set) var heads: [EntryID] = []
    /// Epochs that count, by id.
    public private(set) var epochs: [EntryID: Epoch] = [:]
    /// Counted epochs no counted epoch builds on.
    public private(set) var epochHeads: [EntryID] = []
    /// The token policies that count, in fold order (the create's first): a ledger entry
    /// cites one by its entry id.
    public private(set) var policies: [(id: EntryID, policy: LedgerPolicy)] = []

    /// The policy in force: the last that counts.
    public var policy: LedgerPolicy? { policies.last?.policy }

    /// The epoch to encrypt new entries under: of the epoch heads whose recipients are all
    /// current members, the lowest id. Nil when none qualifies: a manager must rekey
    /// before members write.
    public var sendingEpoch: EntryID? {
        epochHeads.filter { id in
            epochs[id].map { $0.recipients.isSubset(of: members.keys) } ?? false
        }.min(by: Self.precedes)
    }

    /// Whether a manager should start an epoch: none may be written under, or a current
    /// member lacks the key of the one that may and no more of its parts are due.
    public var needsRekey: Bool {
        guard let sending = sendingEpoch, let epoch = epochs[sending] else { return true }
        return epoch.isComplete && !Set(members.keys).isSubset(of: epoch.recipients)
    }

    /// Whether a control entry of `author` with `action`, built on the current heads, would
    /// count (its author holds the role it needs and it names a fitting member). Not for
    /// continuations, which need no role but the epoch they continue.
    public func permits(_ action: GroupControl.Action, by author: AgentID) -> Bool {
        let probe = GroupControl(id: group, author: author, parents: heads, action: action)
        return ControlGraph.neededRole(probe, in: members) != nil
    }

    /// Whether the group accepts an entry of `author`'s feed at `seq`.
    public func accepts(author: AgentID, seq: UInt64) -> Bool {
        intervals[author]?.contains { $0.contains(seq) } ?? false
    }

    public init(group: EntryID) {
        self.group = group
    }

    /// Folds `controls` (in any order, duplicates ignored).
    public static func fold(group: EntryID, controls: [GroupControl]) -> GroupRoster {
        var graph = ControlGraph(group: group, controls: controls)
        var roster = GroupRoster(group: group)
        roster.pending = graph.pending
        roster.void = graph.malformed.reduce(into: [:]) { $0[$1] = .malformed }
        roster.heads = graph.heads
        let valid = graph.settleValidity()
        for (index, counts) in valid.enumerated() {
            let control = graph.ordered[index]
            if counts {
                roster.apply(control, graph: graph)
            } else if roster.void[control.id] == nil {
                roster.void[control.id] = graph.reasons[index]
            }
            // Every continuation the epoch's author wrote after it is a part held, counted or not.
            if case .continueEpoch(let epoch, _) = control.action, graph.continues(index, epoch) {
                roster.epochs[epoch]?.heldParts += 1
            }
        }
        roster.epochHeads = roster.epochs.keys.filter { id in
            guard let index = graph.index[id] else { return false }
            return !roster.epochs.keys.contains { other in
                other != id && graph.index[other].map { graph.past[$0].contains(index) } == true
            }
        }.sorted(by: Self.precedes)
        return roster
    }

    /// Deterministic order of entry ids (bytewise).
    static func precedes(_ lhs: EntryID, _ rhs: EntryID) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    // MARK: - Applying a counted entry

    private mutating func apply(_ control: GroupControl, graph: ControlGraph) {
        // A later policy keeps the currency, cap and treasury of the first.
        if case .setPolicy(let policy) = control.action, let current = self.policy, !current.admits(policy) {
            void[control.id] = .malformed
            return
        }
        applied.append(control.id)
        switch control.action {
        case .create(let name):
            self.name = name
            members[control.author] = .owner
            open(control.author, from: 0)
            epochs[control.id] = Epoch(id: control.id, recipients: [control.author], parts: control.parts)
            if let policy = control.policy { policies.append((control.id, policy)) }
        case .add(let member, let role, let fromSeq, let shares):
            // Concurrent adds of one agent all count; the highest role applies.
            members[member] = max(members[member] ?? role, role)
            if role >= .member { open(member, from: fromSeq) }
            for share in shares { epochs[share]?.recipients.insert(member) }
        case .remove(let member, let cutoff, let rekeyedTo):
            members.removeValue(forKey: member)
            close(member, at: cutoff, by: control.id, graph: graph)
            if let rekeyedTo { epochs[control.id] = Epoch(id: control.id, recipients: recipients(rekeyedTo), parts: control.parts) }
        case .setRole(let member, let role, let atSeq):
            let before = members[member]
            members[member] = role
            if role < .member, (before ?? .reader) >= .member { close(member, at: atSeq, by: control.id, graph: graph) }
            if role >= .member, (before ?? .reader) < .member { open(member, from: Self.after(atSeq)) }
        case .rekey(let sealedTo):
            epochs[control.id] = Epoch(id: control.id, recipients: recipients(sealedTo), parts: control.parts)
        case .continueEpoch(let epoch, let sealedTo):
            let added = recipients(sealedTo)
            epochs[epoch]?.recipients.formUnion(added)
        case .setPolicy(let policy):
            policies.append((control.id, policy))
        }
    }

    /// The current members an epoch's seals name.
    private func recipients(_ set: RecipientSet) -> Set<AgentID> {
        Set(members.keys.filter(set.contains))
    }

    /// The seq after `seq`; seqs and cutoffs come from control entries, and at the highest
    /// one there is nothing after it.
    private static func after(_ seq: UInt64) -> UInt64 { seq == .max ? .max : seq + 1 }

    private mutating func open(_ agent: AgentID, from seq: UInt64) {
        var list = intervals[agent] ?? []
        if let last = list.last, last.to == nil { return }
        let floor = list.last.map { max($0.from, Self.after($0.to ?? $0.from)) } ?? 0
        list.append(WritingInterval(from: max(seq, floor), to: nil))
        intervals[agent] = list
    }

    private mutating func close(_ agent: AgentID, at seq: UInt64, by closer: EntryID, graph: ControlGraph) {
        guard var list = intervals[agent], let last = list.last else { return }
        if last.to == nil {
            list[list.count - 1].to = seq
            list[list.count - 1].closedBy = closer
        } else if let earlier = last.closedBy, graph.concurrent(earlier, closer), let to = last.to, seq > to {
            list[list.count - 1].to = seq
        }
        intervals[agent] = list
    }
}

/// The control entries of one group as a graph: which are held with all their ancestors,
/// a deterministic topological order, and each entry's causal past.
struct ControlGraph {
    let group: EntryID
    /// Entries with every ancestor held, in topological order (ties by id).
    private(set) var ordered: [GroupControl] = []
    private(set) var index: [EntryID: Int] = [:]
    /// `past[i]`: indices of every ancestor of `ordered[i]`.
    private(set) var past: [IndexSet] = []
    private(set) var pending: Set<EntryID> = []
    private(set) var malformed: Set<EntryID> = []
    private(set) var heads: [EntryID] = []
    /// Why each entry does not count, for those that do not (after `settleValidity`).
    private(set) var reasons: [GroupRoster.VoidReason] = []

    init(group: EntryID, controls: [GroupControl]) {
        self.group = group
        var byID: [EntryID: GroupControl] = [:]
        for control in controls where byID[control.id] == nil {
            let isRoot = control.id == group
            let wellFormed: Bool
            if case .create = control.action {
                wellFormed = isRoot && control.parents.isEmpty
            } else {
                wellFormed = !isRoot && !control.parents.isEmpty && !control.parents.contains(control.id)
            }
            if wellFormed { byID[control.id] = control } else { malformed.insert(control.id) }
        }
        // Kahn's algorithm over entries whose parents are all placed; the ready set is
        // kept in id order, so every node places concurrent entries alike.
        var children: [EntryID: [EntryID]] = [:]
        var missing: [EntryID: Int] = [:]
        for control in byID.values {
            let parents = Set(control.parents)
            missing[control.id] = parents.count
            for parent in parents { children[parent, default: []].append(control.id) }
        }
        var ready = byID.values.filter { $0.parents.isEmpty }.map(\.id).sorted(by: GroupRoster.precedes)
        while !ready.isEmpty {
            let id = ready.removeFirst()
            guard let control = byID[id] else { continue }
            var ancestors = IndexSet()
            for parent in Set(control.parents) {
                guard let parentIndex = index[parent] else { continue }
                ancestors.insert(parentIndex)
                ancestors.formUnion(past[parentIndex])
            }
            index[id] = ordered.count
            ordered.append(control)
            past.append(ancestors)
            for child in children[id] ?? [] {
                missing[child, default: 0] -= 1
                if missing[child] == 0 {
                    let position = ready.firstIndex { GroupRoster.precedes(child, $0) } ?? ready.endIndex
                    ready.insert(child, at: position)
                }
            }
        }
        pending = Set(byID.keys).subtracting(index.keys)
        var referenced = IndexSet()
        for ancestors in past { referenced.formUnion(ancestors) }
        heads = ordered.indices.filter { !referenced.contains($0) }.map { ordered[$0].id }.sorted(by: GroupRoster.precedes)
        reasons = Array(repeating: .notPermitted, count: ordered.count)
    }

    /// Whether `ordered[i]` may continue `epoch`: an entry in its past, by the same author,
    /// that starts an epoch.
    func continues(_ i: Int, _ epoch: EntryID) -> Bool {
        guard let j = index[epoch] else { return false }
        return past[i].contains(j) && ordered[j].author == ordered[i].author && ordered[j].startsEpoch
    }

    /// Neither entry is in the other's past.
    func concurrent(_ a: EntryID, _ b: EntryID) -> Bool {
        guard let i = index[a], let j = index[b], i != j else { return false }
        return !past[i].contains(j) && !past[j].contains(i)
    }

    /// Which entries count. Each is checked against the roster of its causal past; then
    /// entries that need a role are voided by concurrent counted revocations of it. Voiding
    /// can change what later entries' pasts grant, so the pass repeats until nothing
    /// changes (at most 8 passes; the result is deterministic either way).
    mutating func settleValidity() -> [Bool] {
        var valid = Array(repeating: true, count: ordered.count)
        // Each pass goes in topological order, so an entry's past is settled for this pass
        // when it is reached; revocations later in the order are taken from the last pass.
        var revocations: [Int] = []
        for _ in 0..<8 {
            var next = valid
            var nextRevocations: [Int] = []
            for i in ordered.indices {
                let control = ordered[i]
                // A continuation needs no role: only that the epoch it continues counts.
                if case .continueEpoch(let epoch, _) = control.action {
                    let counts = continues(i, epoch) && index[epoch].map { next[$0] } == true
                    next[i] = counts
                    if !counts { reasons[i] = .notPermitted }
                    continue
                }
                let state = roster(before: i, valid: next)
                guard let needed = Self.neededRole(control, in: state) else {
                    next[i] = false
                    reasons[i] = .notPermitted
                    continue
                }
                if Self.isRevocation(control, in: state) {
                    next[i] = true
                    nextRevocations.append(i)
                    continue
                }
                let candidates = nextRevocations + revocations.filter { $0 > i }
                let revoked = candidates.contains { j in
                    !past[i].contains(j) && !past[j].contains(i) && Self.revokes(ordered[j], from: control.author, role: needed)
                }
                next[i] = !revoked
                if revoked { reasons[i] = .revokedConcurrently }
            }
            let settled = next == valid && nextRevocations == revocations
            valid = next
            revocations = nextRevocations
            if settled { break }
        }
        return valid
    }

    /// The roles of the roster folded from the counted entries in `ordered[i]`'s past.
    private func roster(before i: Int, valid: [Bool]) -> [AgentID: GroupRole] {
        var members: [AgentID: GroupRole] = [:]
        for j in past[i].sorted() where valid[j] {
            let control = ordered[j]
            switch control.action {
            case .create: members[control.author] = .owner
            case .add(let member, let role, _, _): members[member] = max(members[member] ?? role, role)
            case .remove(let member, _, _): members.removeValue(forKey: member)
            case .setRole(let member, let role, _): members[member] = role
            case .rekey, .continueEpoch, .setPolicy: break
            }
        }
        return members
    }

    /// The role `control`'s author needs for it in roster `state`, or nil when it is not
    /// permitted there at all (its author lacks the role, or it names a non-member, or
    /// adds a current member).
    static func neededRole(_ control: GroupControl, in state: [AgentID: GroupRole]) -> GroupRole? {
        let role = state[control.author]
        let needed: GroupRole
        switch control.action {
        case .create:
            return .reader  // only the root gets here, and it needs nobody's permission
        case .add(let member, let added, _, _):
            guard state[member] == nil else { return nil }
            needed = added >= .manager ? .owner : .manager
        case .remove(let member, _, let rekeyedTo):
            guard let target = state[member] else { return nil }
            if member == control.author {
                needed = rekeyedTo == nil ? .reader : .manager  // leaving (a manager may rekey as it goes)
            } else {
                needed = target >= .manager ? .owner : .manager
            }
        case .setRole(let member, let new, _):
            guard let current = state[member], current != new else { return nil }
            needed = (new >= .manager || current >= .manager) ? .owner : .manager
        case .rekey:
            needed = .manager
        case .continueEpoch:
            return nil  // judged against the control graph (`settleValidity`), not a roster
        case .setPolicy:
            needed = .owner
        }
        guard let role, role >= needed else { return nil }
        return needed
    }

    /// Removals and role lowerings: they stand against concurrent entries of their target.
    static func isRevocation(_ control: GroupControl, in state: [AgentID: GroupRole]) -> Bool {
        switch control.action {
        case .remove: true
        case .setRole(let member, let new, _): state[member].map { new < $0 } ?? false
        default: false
        }
    }

    /// Whether `control` takes `role` from `agent`.
    static func revokes(_ control: GroupControl, from agent: AgentID, role: GroupRole) -> Bool {
        switch control.action {
        case .remove(let member, _, _): member == agent
        case .setRole(let member, let new, _): member == agent && new < role
        default: false
        }
    }
}

/// A small set of indices into the control graph's order.
struct IndexSet: Sendable, Equatable {
    private var words: [UInt64] = []

    func contains(_ index: Int) -> Bool {
        let word = index >> 6
        return word < words.count && words[word] & (1 << UInt64(index & 63)) != 0
    }

    mutating func insert(_ index: Int) {
        let word = index >> 6
        if word >= words.count { words += Array(repeating: 0, count: word - words.count + 1) }
        words[word] |= 1 << UInt64(index & 63)
    }

    mutating func formUnion(_ other: IndexSet) {
        if other.words.count > words.count { words += Array(repeating: 0, count: other.words.count - words.count) }
        for (i, word) in other.words.enumerated() { words[i] |= word }
    }

    func sorted() -> [Int] {
        var result: [Int] = []
        for (i, word) in words.enumerated() where word != 0 {
            for bit in 0..<64 where word & (1 << UInt64(bit)) != 0 { result.append(i << 6 | bit) }
        }
        return result
    }
}
