import Crypto
import Foundation
import Logging
import PlexusCore
import PlexusProtocol
import PlexusStore

/// The private groups this node is in (DESIGN §9, PROTOCOL.md §13): each group's control
/// entries folded into its roster, the epoch keys this agent opened, and the group's
/// entries opened in memory. Ciphertext is what the store holds; plaintext lives only here
/// and is rebuilt from the store when the node starts.
///
/// It is the ingest pipeline's policy for group topics (`admit`), reads what was stored
/// (`catchUp`), writes control and sealed entries through the store's writer, and sends
/// and receives welcomes as signed soft records.
actor PrivateGroups: IngestPolicy {
    nonisolated let topicPrefix = GroupEntryType.topicPrefix

    /// One group as this node holds it.
    struct Group: Sendable {
        var membership: GroupStore.Membership
        var controls: [EntryID: ControlEntry] = [:]
        var roster: GroupRoster
        var ring = GroupKeyRing()
        /// Opened entries: what replaces what, and threads.
        var log = GroupLog()
        /// The stored form of each opened entry.
        var stored: [EntryID: StoredEntry] = [:]
        /// The search index of opened entries (in memory only: PROTOCOL.md §13.8).
        var index = BM25Index()
        /// Sealed entries whose epoch key this node does not hold (yet).
        var unopened: [EntryID: StoredEntry] = [:]
        /// The control heads when this node last rekeyed by itself: once per roster state.
        var rekeyedAt: [EntryID]?
        /// After a rekey by itself failed: when to try again, and how many tries failed.
        var rekeyRetry: (at: ContinuousClock.Instant, failures: Int)?
        /// Who may take part in the group's topic here, as last told to the gossip.
        var admitted: Set<AgentID>?
        /// Feeds proven forked by `ledger.fork` entries of the group: author → fork seq.
        var forkProofs: [AgentID: UInt64] = [:]

        init(membership: GroupStore.Membership) {
            self.membership = membership
            self.roster = GroupRoster(group: membership.id)
        }
    }

    /// How long a welcome lives, and most groups a node is in.
    static let welcomeLifetimeMs: Int64 = 86_400_000
    static let maxGroups = 128
    /// Most sealed entries kept waiting for a key per group.
    static let maxUnopened = 10_000

    let key: AgentKey
    let exchangeKey: ExchangeKey
    private let vault: EpochKeyVault
    let store: EntryStore
    let gossip: GossipEngine
    let clock: NodeClock
    let logger: Logger
    private let limits: Limits
    /// The exchange key an agent published in its directory record.
    private let lookup: @Sendable (AgentID) async throws(PlexusError) -> AgentView

    var groups: [EntryID: Group] = [:]
    private var byTopic: [String: EntryID] = [:]
    /// Highest store cursor read by `catchUp`.
    private var cursor: Int64 = 0
    private var welcomesSeen: Set<EntryID> = []
    /// This agent's presence per group, and when it was last published (kept fresh by `run`).
    var ownPresence: [EntryID: (request: PresenceRequest, publishedMs: Int64)] = [:]
    /// Reading the groups back from the store, once; every caller of `load` waits for it.
    private var loading: Task<Void, Never>?
    /// Each group's ledger as last folded, and what it was folded from.
    var ledgers: [EntryID: FoldedLedger] = [:]
    /// Groups whose ledger an entry of this node is being written to (one at a time, so
    /// each names the one before as its prev), and who waits for a turn.
    var ledgerWriting: Set<EntryID> = []
    var ledgerTurns: [EntryID: [CheckedContinuation<Void, Never>]] = [:]
    /// Callers waiting for a group's log to change (a buyer waiting for the claim), by group.
    var logWaiters = Waiters<EntryID>()

    init(
        key: AgentKey, store: EntryStore, gossip: GossipEngine, clock: NodeClock, logger: Logger, limits: Limits,
        lookup: @escaping @Sendable (AgentID) async throws(PlexusError) -> AgentView
    ) {
        self.key = key
        self.exchangeKey = ExchangeKey(agent: key)
        self.vault = EpochKeyVault(agent: key)
        self.store = store
        self.gossip = gossip
        self.clock = clock
        self.logger = logger
        self.limits = limits
        self.lookup = lookup
    }

    // MARK: - Running

    /// Loads the groups, then follows the store and the welcomes until cancelled: it wakes
    /// when an entry of a group topic is stored or a welcome kept, and at least once a
    /// second (presence has its times). Other entries do not wake it: on a busy mesh they
    /// would cost a read of the store each.
    func run() async {
        await load()
        let records = await gossip.recordArrivals(of: .groupWelcome)
        let arrivals = store.topicArrivals.signal(forPrefix: GroupEntryType.topicPrefix)
        while !Task.isCancelled {
            let (entriesSeen, recordsSeen) = (cursor, await records.latest)
            await withTaskGroup(of: Void.self) { race in
                race.addTask { try? await arrivals.wait(after: entriesSeen, timeout: .seconds(1)) }
                race.addTask { try? await records.wait(after: recordsSeen, timeout: .seconds(1)) }
                await race.next()
                race.cancelAll()
            }
            await catchUp()
            await receiveWelcomes()
            await rekeyWhereDue()
            await keepLedgers()
            await refreshPresence()
            logWaiters.wakeExpired(now: .now)
        }
    }

    /// Reads the groups, their keys and their logs back from the store (the first call), or
    /// waits until that is done.
    func load() async {
        if let loading { return await loading.value }
        let task = Task { await self.readBack() }
        loading = task
        await task.value
    }

    private func readBack() async {
        do {
            for membership in try await store.groups.groups() {
                var group = Group(membership: membership)
                for (epoch, sealed) in try await store.groups.sealedKeys(of: membership.id) {
                    group.ring.insert(try vault.open(sealed, group: membership.id, epoch: epoch), epoch: epoch)
                }
                groups[membership.id] = group
                byTopic[membership.topic] = membership.id
                await admitMembers(of: membership.id)
            }
        } catch {
            logger.error("could not load the groups", metadata: ["error": "\(error)"])
        }
        await catchUp()
        for group in groups.values where group.roster.name == nil || group.roster.members[key.id] != nil {
            _ = try? await gossip.subscribe(group.membership.topic)
        }
    }

    /// Takes in every group entry stored since the last call.
    /// `cursor` moves past every stored entry read, group entry or not, so `run` waits for
    /// what is new instead of spinning on entries of other topics.
    func catchUp() async {
        while true {
            let latest = await store.arrivals.latest
            guard let batch = try? await store.entries(inTopicsWithPrefix: GroupEntryType.topicPrefix, after: cursor, limit: 1000)
            else { return }
            guard !batch.isEmpty else {
                cursor = max(cursor, latest)
                return
            }
            cursor = batch.last?.cursor ?? cursor
            var touched: Set<EntryID> = []
            for stored in batch {
                guard let id = byTopic[stored.entry.topic] else { continue }
                touched.insert(id)
                if GroupEntryType.control.contains(stored.entry.type) {
                    if let control = try? ControlEntry(stored.entry), control.group == id, groups[id]?.controls[control.entry.id] == nil {
                        groups[id]?.controls[control.entry.id] = control
                    }
                } else if stored.entry.type == GroupEntryType.sealed {
                    groups[id]?.unopened[stored.entry.id] = stored
                }
            }
            for id in touched { await settle(id) }
        }
    }

    /// Refolds a group's roster, opens the keys and entries it can, and keeps new keys.
    private func settle(_ id: EntryID) async {
        // Taken out while it changes (and written back before any await), so its log and
        // index are changed in place rather than copied whole on every arrival.
        guard var group = groups.removeValue(forKey: id) else { return }
        let controls = Array(group.controls.values)
        group.roster = GroupRoster.fold(group: id, controls: controls.map(\.control))
        var renamed = false
        if let name = group.roster.name, name != group.membership.name {
            group.membership = GroupStore.Membership(
                id: id, topic: group.membership.topic, name: name, addedMs: group.membership.addedMs, welcomedBy: group.membership.welcomedBy)
            renamed = true
        }
        let newKeys = group.ring.absorb(controls, me: key.id, exchangeKey: exchangeKey)
        var sealed: [EntryID: Data] = [:]
        for epoch in newKeys {
            if let epochKey = group.ring[epoch] { sealed[epoch] = try? vault.seal(epochKey, group: id, epoch: epoch) }
        }
        // In receive order, so the log appends.
        let openable = group.unopened.values.compactMap { stored -> (StoredEntry, SymmetricKey)? in
            guard let epoch = try? SealedEntry.epoch(of: stored.entry), let epochKey = group.ring[epoch] else { return nil }
            return (stored, epochKey)
        }.sorted { $0.0.cursor < $1.0.cursor }
        var opened: [GroupItem] = []
        for (stored, epochKey) in openable {
            let entryID = stored.entry.id
            group.unopened.removeValue(forKey: entryID)
            guard !group.log.contains(entryID), let inner = try? SealedEntry.open(stored.entry, group: id, epochKey: epochKey)
            else { continue }
            let item = GroupItem(
                id: entryID, author: stored.entry.author, seq: stored.entry.seq, timeMs: stored.entry.timeMs, cursor: stored.cursor,
                expiresMs: stored.entry.expiresMs.map { Int64(clamping: $0) }, inner: inner)
            opened.append(item)
            group.stored[entryID] = stored
            group.index.add(entryID, text: ContextCompiler.searchText(of: item))
        }
        group.log.insert(contentsOf: opened)
        for item in opened where item.inner.type == LedgerForkProof.type {
            guard let proof = LedgerForkProof(item, limits: limits) else { continue }
            group.forkProofs[proof.author] = min(group.forkProofs[proof.author] ?? .max, proof.seq)
        }
        if group.unopened.count > Self.maxUnopened {
            // The oldest wait longest for a key that may never come.
            let oldest = group.unopened.values.sorted { $0.cursor < $1.cursor }.prefix(group.unopened.count - Self.maxUnopened)
            for stored in oldest { group.unopened.removeValue(forKey: stored.entry.id) }
        }
        // Written back before any await, so a settle that runs meanwhile sees it.
        groups[id] = group
        if !opened.isEmpty { logWaiters.wakeAll(id) }
        if renamed { try? await store.groups.save(group.membership) }
        try? await store.groups.saveSealedKeys(sealed, of: id)
        await admitMembers(of: id)
    }

    /// Tells the gossip who may take part in the group's topic: the roster's members, or
    /// until this node holds the create, the agent that welcomed it. A node removed from
    /// the group leaves the topic (what it opened stays readable here).
    private func admitMembers(of id: EntryID) async {
        guard let group = groups[id] else { return }
        let roster = group.roster
        var members = Set(roster.members.keys)
        if roster.name == nil, let welcomer = group.membership.welcomedBy { members.insert(welcomer) }
        members.insert(key.id)
        if members != group.admitted {
            groups[id]?.admitted = members
            await gossip.restrict(group.membership.topic, to: members)
        }
        if roster.name != nil, roster.members[key.id] == nil {
            _ = try? await gossip.unsubscribe(group.membership.topic)
        }
    }

    // MARK: - Policy (PROTOCOL.md §13.5)

    /// Why each entry may not be stored (nil: it may). Control entries of a group this
    /// node is in are taken in at once, so sealed entries in the same batch are judged by
    /// the roster they build.
    func admit(_ entries: [SignedEntry]) async -> [PlexusError?] {
        var touched: Set<EntryID> = []
        var verdicts: [PlexusError?] = Array(repeating: nil, count: entries.count)
        for (index, entry) in entries.enumerated() where GroupEntryType.control.contains(entry.type) {
            guard let id = byTopic[entry.topic] else {
                verdicts[index] = PlexusError(.notMember, "this node is not in the group of topic \(entry.topic.prefix(40))")
                continue
            }
            let control: ControlEntry
            do {
                control = try ControlEntry(entry)
            } catch {
                verdicts[index] = error
                continue
            }
            guard control.group == id else {
                verdicts[index] = PlexusError(.malformedEnvelope, "control entry \(entry.id.hex.prefix(12)) names another group than its topic's")
                continue
            }
            if groups[id]?.controls[entry.id] == nil {
                groups[id]?.controls[entry.id] = control
                touched.insert(id)
            }
        }
        for id in touched { await settle(id) }
        for (index, entry) in entries.enumerated() where GroupEntryType.isGroupTopic(entry.topic) && !GroupEntryType.control.contains(entry.type) {
            guard let id = byTopic[entry.topic], let group = groups[id] else {
                verdicts[index] = PlexusError(.notMember, "this node is not in the group of topic \(entry.topic.prefix(40))")
                continue
            }
            guard entry.type == GroupEntryType.sealed else {
                verdicts[index] = PlexusError(.malformedEnvelope, "a group topic carries control entries and group.sealed entries only, not \(entry.type.prefix(64))")
                continue
            }
            if (try? SealedEntry.epoch(of: entry)) == nil {
                // Structure only (no key needed), so every member judges it the same.
                verdicts[index] = PlexusError(.malformedEnvelope, "entry \(entry.id.hex.prefix(12)) is not a group envelope (PROTOCOL.md §13.4)")
            } else if !group.roster.accepts(author: entry.author, seq: entry.seq) {
                verdicts[index] = PlexusError(
                    .notMember, "\(entry.author.short) may not write entry \(entry.seq) in group \(group.membership.name)")
            }
        }
        return verdicts
    }

    // MARK: - Reading

    func views() -> [GroupView] {
        groups.values.sorted { ($0.membership.addedMs, $0.membership.id.hex) < ($1.membership.addedMs, $1.membership.id.hex) }.map(view)
    }

    func view(of reference: String) throws(PlexusError) -> GroupView {
        view(try resolve(reference))
    }

    private func view(_ group: Group) -> GroupView {
        let roster = group.roster
        return GroupView(
            id: group.membership.id, name: group.membership.name, topic: group.membership.topic, role: roster.members[key.id],
            members: roster.members.map { GroupMemberView(agent: $0.key, role: $0.value) }.sorted { $0.agent < $1.agent },
            epoch: roster.sendingEpoch.flatMap { group.ring[$0] == nil ? nil : $0 }, needsRekey: roster.needsRekey,
            entries: group.log.count, pendingControls: roster.pending.count,
            voidControls: roster.void.map { VoidControlView(id: $0.key, reason: $0.value.rawValue) }.sorted { $0.id.hex < $1.id.hex })
    }

    /// The group a reference names: an id, or the name of exactly one group.
    func resolve(_ reference: String) throws(PlexusError) -> Group {
        if let id = EntryID(reference), let group = groups[id] { return group }
        let named = groups.values.filter { $0.membership.name == reference }
        switch named.count {
        case 1: return named[0]
        case 0: throw PlexusError(.notFound, "no group '\(reference.prefix(64))' on this node (give its id or name)")
        default: throw PlexusError(.rejected, "\(named.count) groups are named '\(reference.prefix(64))'; give the id")
        }
    }

    // MARK: - Writing

    /// Creates a group owned by this agent.
    func create(_ request: GroupCreateRequest) async throws(PlexusError) -> GroupView {
        let request = try request.validated()
        guard groups.count < Self.maxGroups else { throw PlexusError(.invalidArgument, "a node is in at most \(Self.maxGroups) groups") }
        let topic = GroupEntryType.topicPrefix + Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
        let epochKey = GroupKeyRing.freshKey()
        var create = Plexus_GroupCreate()
        create.name = request.name
        create.creatorKey = ExchangeKey.binding(of: key).wire
        create.epoch = try GroupKeyRing.epochKeys(epochKey, to: [ExchangeKey.binding(of: key)], wrapping: [])
        if let policy = request.policy { create.policy = try Self.wirePolicy(policy, treasury: policy.treasury ?? key.id) }
        var message = Plexus_GroupControl()
        message.create = create
        // Join the topic first, so the create is spread and the admission knows the group.
        let run = try await appendControl(GroupEntryType.create, message, topic: topic, parents: [])
        let id = run[0].entry.id
        let membership = GroupStore.Membership(id: id, topic: topic, name: request.name, addedMs: clock.nowMs)
        try await store.groups.save(membership)
        var group = Group(membership: membership)
        group.ring.insert(epochKey, epoch: id)
        try await store.groups.saveSealedKeys([id: try vault.seal(epochKey, group: id, epoch: id)], of: id)
        groups[id] = group
        byTopic[topic] = id
        await admitMembers(of: id)
        _ = try await gossip.subscribe(topic)
        try await took(run, into: id)
        return try view(of: id.hex)
    }

    /// Adds `request.agent` with its role, shares the current keys with it, and welcomes it.
    func add(_ reference: String, _ request: GroupMemberRequest) async throws(PlexusError) -> GroupView {
        let group = try resolve(reference)
        let role = request.role ?? .member
        guard group.roster.members[request.agent] == nil else {
            throw PlexusError(.rejected, "\(request.agent.short) is already a member of \(group.membership.name); change its role with group role")
        }
        try permit(.add(member: request.agent, role: role, fromSeq: 0, shares: []), in: group)
        let binding = try await exchangeBinding(of: request.agent)
        var add = Plexus_GroupAdd()
        add.member = request.agent.bytes.asData
        add.role = role.rawValue
        add.fromSeq = try await store.maxSeq(of: request.agent) + 1
        add.memberKey = binding.wire
        for epoch in group.roster.epochHeads {
            guard let epochKey = group.ring[epoch] else { continue }
            var share = Plexus_EpochShare()
            share.epoch = epoch.bytes.asData
            share.sealed = try GroupKeyRing.sealed(epochKey, to: binding)
            add.shares.append(share)
        }
        try await publishControl(GroupEntryType.add, in: group) { $0.add = add }
        try await welcome(request.agent, binding: binding, to: group.membership)
        return try view(of: group.membership.id.hex)
    }

    /// Removes an agent (or this agent: leaving), rekeying to the rest when this agent manages.
    func remove(_ reference: String, agent: AgentID) async throws(PlexusError) -> GroupView {
        let group = try resolve(reference)
        guard group.roster.members[agent] != nil else {
            throw PlexusError(.notFound, "\(agent.short) is not a member of \(group.membership.name)")
        }
        let manages = (group.roster.members[key.id] ?? .reader) >= .manager
        var remove = Plexus_GroupRemove()
        remove.member = agent.bytes.asData
        remove.cutoff = try await store.maxSeq(of: agent)
        var continuations: ArraySlice<Plexus_EpochKeys> = []
        if manages {
            let remaining = group.roster.members.keys.filter { $0 != agent }
            let parts = try newEpoch(for: Array(remaining), in: group)
            remove.rekey = parts[0]
            continuations = parts.dropFirst()
        }
        try permit(.remove(member: agent, cutoff: remove.cutoff, rekeyedTo: remove.hasRekey ? RecipientSet([]) : nil), in: group)
        try await publishControl(GroupEntryType.remove, in: group, continuing: continuations) { $0.remove = remove }
        return try view(of: group.membership.id.hex)
    }

    func setRole(_ reference: String, agent: AgentID, role: GroupRole) async throws(PlexusError) -> GroupView {
        let group = try resolve(reference)
        guard let current = group.roster.members[agent] else {
            throw PlexusError(.notFound, "\(agent.short) is not a member of \(group.membership.name)")
        }
        guard current != role else { throw PlexusError(.rejected, "\(agent.short) is already \(role.rawValue)") }
        var change = Plexus_GroupRole()
        change.member = agent.bytes.asData
        change.role = role.rawValue
        change.atSeq = try await store.maxSeq(of: agent)
        try permit(.setRole(member: agent, role: role, atSeq: change.atSeq), in: group)
        try await publishControl(GroupEntryType.role, in: group) { $0.role = change }
        return try view(of: group.membership.id.hex)
    }

    /// Starts an epoch sealed to every current member.
    func rekey(_ reference: String) async throws(PlexusError) -> GroupView {
        let group = try resolve(reference)
        try permit(.rekey(recipients: []), in: group)
        let parts = try newEpoch(for: Array(group.roster.members.keys), in: group)
        try await publishControl(GroupEntryType.rekey, in: group, continuing: parts.dropFirst()) { $0.rekey = parts[0] }
        return try view(of: group.membership.id.hex)
    }

    /// Seals `request` under the group's sending epoch and publishes it.
    func publish(_ reference: String, _ request: PublishRequest) async throws(PlexusError) -> StoredEntry {
        let (id, inner, expiresMs) = try publication(reference, request)
        return try await seal(inner, expiresMs: expiresMs, in: id)
    }

    /// The group and the inner body `request` publishes there (read in a helper: a copy of
    /// the group held while the entry is taken in would make it copy its log).
    private func publication(_ reference: String, _ request: PublishRequest) throws(PlexusError) -> (EntryID, GroupInner, UInt64?) {
        let group = try resolve(reference)
        let draft = try request.draft(nowMs: clock.nowMs)
        let supersedes = request.supersedes ?? []
        for target in supersedes { try checkOwn(target, in: group, doing: "supersede") }
        let inner = GroupInner(type: draft.type, tags: draft.tags, refs: draft.refs, supersedes: supersedes, content: draft.content)
        return (group.membership.id, inner, draft.expiresMs)
    }

    /// Refuses to replace an entry that is not this agent's standing entry in the group.
    func checkOwn(_ target: EntryID, in group: Group, doing act: String) throws(PlexusError) {
        guard let item = group.log[target] else {
            throw PlexusError(.notFound, "entry \(target.hex.prefix(12)) is not an entry of \(group.membership.name) this node opened")
        }
        guard item.author == key.id else { throw PlexusError(.forbidden, "only its author may \(act) entry \(target.hex.prefix(12))") }
        if case .retracted = group.log.state(of: target) {
            throw PlexusError(.rejected, "entry \(target.hex.prefix(12)) is already retracted")
        }
    }

    /// Seals an inner body under the group's sending epoch, appends it to this agent's
    /// feed, pushes it and takes it in. Takes the group's id, not a copy of the group, so
    /// that taking the entry in changes the group in place.
    func seal(_ innerBody: GroupInner, expiresMs: UInt64?, in id: EntryID) async throws(PlexusError) -> StoredEntry {
        let (epoch, epochKey, topic) = try sendingEpoch(of: id)
        let now = clock.nowMs
        if let expiresMs, Int64(clamping: expiresMs) <= now {
            throw PlexusError(.invalidContent, "expires_ms \(expiresMs) is already in the past")
        }
        let inner = try innerBody.serialized()
        var template = Plexus_EntryBody()
        template.timeMs = now
        template.type = GroupEntryType.sealed
        template.topic = topic
        if let expiresMs { template.expiresMs = expiresMs }
        let (key, limits, me) = (self.key, self.limits, self.key.id)
        let stored = try await store.writer.append(as: me, searchText: "") { head throws(PlexusError) in
            let seq = (head?.seq ?? 0) + 1
            var body = template.linked(seq: seq, prev: head?.id)
            body.content = try SealedEntry.seal(inner, group: id, epoch: epoch, epochKey: epochKey, author: me, seq: seq)
            return try SignedEntry(signing: body, with: key, limits: limits)
        }
        await gossip.publish(stored.entry)
        try await took([stored], into: id)
        return stored
    }

    /// The epoch this agent seals under in group `id`, its key and the group's topic;
    /// refused when it may not write there or holds no key of the current epoch.
    private func sendingEpoch(of id: EntryID) throws(PlexusError) -> (EntryID, SymmetricKey, String) {
        guard let group = groups[id] else { throw PlexusError(.notFound, "the group was left") }
        guard (group.roster.members[key.id] ?? .reader) >= .member else {
            throw PlexusError(.forbidden, "this agent may not write in \(group.membership.name) (role: \(group.roster.members[key.id]?.rawValue ?? "none"))")
        }
        guard let epoch = group.roster.sendingEpoch, let epochKey = group.ring[epoch] else {
            throw PlexusError(.rejected, "this node holds no key of \(group.membership.name)'s current epoch yet; a manager must rekey")
        }
        return (epoch, epochKey, group.membership.topic)
    }

    /// What a blob for group `reference` is sealed under (PROTOCOL.md §15.1): the current
    /// epoch's key, named by the epoch id; only a member that may write there seals.
    func blobSealing(_ reference: String) throws(PlexusError) -> (key: SymmetricKey, context: Data, domain: String) {
        let group = try resolve(reference)
        let (epoch, key, _) = try sendingEpoch(of: group.membership.id)
        return (key, Data(epoch.bytes), Self.blobDomain(group.membership.id))
    }

    /// The key a group blob sealed under epoch `context` opens with; refused when this
    /// node holds no key of that epoch (not a member then, or not yet rekeyed to).
    func blobOpening(_ reference: String, context: Data) throws(PlexusError) -> (key: SymmetricKey, domain: String) {
        let group = try resolve(reference)
        guard let epoch = EntryID(bytes: context), let key = group.ring[epoch] else {
            throw PlexusError(.forbidden, "this node holds no key of the epoch this blob of \(group.membership.name) was sealed under")
        }
        return (key, Self.blobDomain(group.membership.id))
    }

    private static func blobDomain(_ group: EntryID) -> String { "group:" + group.hex }

    /// The opened view of an entry of a group.
    func opened(_ id: EntryID, in group: EntryID) -> EntryView? {
        groups[group].flatMap { Self.entryView(id, in: $0) }
    }

    // MARK: - Helpers

    /// Refuses an act the roster would not count, before it is signed.
    private func permit(_ action: GroupControl.Action, in group: Group) throws(PlexusError) {
        guard group.roster.permits(action, by: key.id) else {
            let role = group.roster.members[key.id]?.rawValue ?? "not a member"
            throw PlexusError(.forbidden, "this agent (\(role)) may not do that in \(group.membership.name)")
        }
    }

    /// A new epoch key sealed to `members` (by the exchange keys their adds carried), with
    /// the keys of the current epoch heads wrapped under it; in more than one part when
    /// the seals do not fit one entry.
    private func newEpoch(for members: [AgentID], in group: Group) throws(PlexusError) -> [Plexus_EpochKeys] {
        var bindings: [ExchangeKeyBinding] = []
        for member in members {
            guard let binding = Self.binding(of: member, in: group) else {
                throw PlexusError(.internal, "no exchange key of member \(member.short) in the group's control entries")
            }
            bindings.append(binding)
        }
        let previous = group.roster.epochHeads.compactMap { epoch in group.ring[epoch].map { (epoch: epoch, key: $0) } }
        return try GroupKeyRing.epochParts(
            GroupKeyRing.freshKey(), to: bindings, wrapping: previous, sealsPerPart: GroupKeyRing.sealsPerEntry(maxBodyBytes: limits.maxBodyBytes))
    }

    /// The exchange key a member's add (or the create) carried: the latest counted one.
    static func binding(of member: AgentID, in group: Group) -> ExchangeKeyBinding? {
        for id in group.roster.applied.reversed() {
            guard let control = group.controls[id], let binding = control.exchangeKey, binding.agent == member else { continue }
            return binding
        }
        return nil
    }

    private func exchangeBinding(of agent: AgentID) async throws(PlexusError) -> ExchangeKeyBinding {
        if agent == key.id { return ExchangeKey.binding(of: key) }
        // 409 either way: the request is fine, but this node cannot seal to the agent yet.
        let view: AgentView
        do {
            view = try await lookup(agent)
        } catch where error.code == .notFound {
            throw PlexusError(.rejected, "\(agent.short) is not in this node's directory (it has not announced itself here); its exchange key is needed to add it")
        }
        guard let binding = view.record.exchangeKey?.binding(of: agent), binding.verifiedKey() != nil else {
            throw PlexusError(.rejected, "\(agent.short) publishes no signed exchange key; it cannot be added to a group")
        }
        return binding
    }

    /// Signs a control entry of `group` built on its current heads, followed by a
    /// continuation for each of `continuing` (the rest of the epoch it starts), stores them
    /// together and takes them in.
    func publishControl(
        _ type: String, in group: Group, continuing: ArraySlice<Plexus_EpochKeys> = [],
        _ action: (inout Plexus_GroupControl) -> Void
    ) async throws(PlexusError) {
        var message = Plexus_GroupControl()
        message.group = group.membership.id.bytes.asData
        action(&message)
        let stored = try await appendControl(
            type, message, topic: group.membership.topic, parents: group.roster.heads, continuing: Array(continuing))
        try await took(stored, into: group.membership.id)
    }

    /// Appends a control entry and its continuations (each built on the one before and
    /// naming the first as the epoch it continues) in one transaction, and pushes them.
    private func appendControl(
        _ type: String, _ message: Plexus_GroupControl, topic: String, parents: [EntryID],
        continuing continuations: [Plexus_EpochKeys] = []
    ) async throws(PlexusError) -> [StoredEntry] {
        var template = Plexus_EntryBody()
        template.timeMs = clock.nowMs
        template.topic = topic
        let first = try Self.controlBody(template, type, message, parents: parents)
        let (key, limits, group, base) = (self.key, self.limits, message.group, template)
        let stored = try await store.writer.appendAll(as: key.id, searchText: "") { head throws(PlexusError) in
            let opening = try SignedEntry(signing: first.linked(seq: (head?.seq ?? 0) + 1, prev: head?.id), with: key, limits: limits)
            var run = [opening]
            for part in continuations {
                guard let previous = run.last else { break }
                var message = Plexus_GroupControl()
                message.group = group
                message.rekey = part
                message.rekey.continues = opening.id.bytes.asData
                let body = try Self.controlBody(base, GroupEntryType.rekey, message, parents: [previous.id])
                run.append(try SignedEntry(signing: body.linked(seq: previous.seq + 1, prev: previous.id), with: key, limits: limits))
            }
            return run
        }
        if byTopic[topic] != nil {
            for entry in stored { await gossip.publish(entry.entry) }
        }
        return stored
    }

    /// A control entry's body (seq and prev still to set).
    private static func controlBody(
        _ template: Plexus_EntryBody, _ type: String, _ message: Plexus_GroupControl, parents: [EntryID]
    ) throws(PlexusError) -> Plexus_EntryBody {
        var body = template
        body.type = type
        body.refs = parents.map { $0.bytes.asData }
        do {
            body.content = try message.serializedBytes()
        } catch {
            throw PlexusError(.internal, "could not serialise a control entry: \(error)")
        }
        return body
    }

    /// Takes entries this node wrote into its group at once (without waiting for `catchUp`).
    private func took(_ run: [StoredEntry], into id: EntryID) async throws(PlexusError) {
        for stored in run {
            if GroupEntryType.control.contains(stored.entry.type) {
                groups[id]?.controls[stored.entry.id] = try ControlEntry(stored.entry)
            } else {
                groups[id]?.unopened[stored.entry.id] = stored
            }
        }
        await settle(id)
        for stored in run where stored.entry.type == GroupEntryType.create { await gossip.spread(stored.entry) }
    }

    // MARK: - Rekeying by itself

    /// Where a rekey is due and this agent is the manager with the lowest id, starts one
    /// (once per roster state). One that fails (the store busy, say) is tried again after
    /// 1 s, doubling up to a minute, whether or not the roster changes meanwhile: until it
    /// succeeds, a removed member could still open what is sealed under the old epoch.
    private func rekeyWhereDue() async {
        let now = ContinuousClock.now
        for (id, group) in groups where group.roster.needsRekey && group.rekeyedAt != group.roster.heads {
            if let retry = group.rekeyRetry, now < retry.at { continue }
            let managers = group.roster.members.filter { $0.value >= .manager }.keys.sorted()
            guard managers.first == key.id else { continue }
            groups[id]?.rekeyedAt = group.roster.heads
            do {
                _ = try await rekey(id.hex)
                groups[id]?.rekeyRetry = nil
                logger.info("rekeyed a group", metadata: ["group": "\(group.membership.name)"])
            } catch {
                let failures = (group.rekeyRetry?.failures ?? 0) + 1
                let pause = Duration.seconds(min(60, 1 << min(failures - 1, 6)))
                groups[id]?.rekeyedAt = nil
                groups[id]?.rekeyRetry = (ContinuousClock.now + pause, failures)
                logger.warning("could not rekey a group; trying again", metadata: [
                    "group": "\(group.membership.name)", "error": "\(error)", "in_s": "\(pause.components.seconds)",
                ])
            }
        }
    }

    // MARK: - Welcomes (PROTOCOL.md §13.7)

    private struct Welcome: Codable {
        let group: EntryID
        let topic: String
        let name: String
    }

    private static let welcomeLabel = "plexus/group-welcome/v1"

    /// Tells `agent` it was added, sealed to its exchange key.
    private func welcome(_ agent: AgentID, binding: ExchangeKeyBinding, to membership: GroupStore.Membership) async throws(PlexusError) {
        guard agent != key.id, let recipientKey = binding.verifiedKey() else { return }
        let plaintext: Data
        do {
            plaintext = try JSONEncoder.compact.encode(Welcome(group: membership.id, topic: membership.topic, name: membership.name))
        } catch {
            throw PlexusError(.internal, "could not encode a welcome: \(error)")
        }
        let sealed = try AgentSeal.seal(plaintext, to: agent, key: recipientKey, label: Self.welcomeLabel)
        let now = clock.nowMs
        let record = try SignedRecord(
            signing: sealed.encapsulatedKey + sealed.ciphertext, kind: .groupWelcome, scope: agent.hex, timeMs: now,
            expiresMs: now + Self.welcomeLifetimeMs, with: key)
        await gossip.publishRecord(record)
    }

    /// A welcome's plaintext, when it was sealed to this agent.
    private func openWelcome(_ content: Data) -> Data? {
        try? AgentSeal.open(
            encapsulatedKey: Data(content.prefix(32)), ciphertext: Data(content.dropFirst(32)), recipient: key.id, key: exchangeKey,
            label: Self.welcomeLabel)
    }

    /// Joins the groups this agent was welcomed to.
    private func receiveWelcomes() async {
        let mine = key.id.hex
        for record in await gossip.records(of: .groupWelcome) where record.scope == mine && !welcomesSeen.contains(record.id) {
            welcomesSeen.insert(record.id)
            guard record.content.count > 32,
                  let plaintext = openWelcome(record.content),
                  let welcome = try? JSONDecoder().decode(Welcome.self, from: plaintext),
                  GroupEntryType.isGroupTopic(welcome.topic), welcome.topic.utf8.count <= TopicName.maxBytes,
                  groups[welcome.group] == nil, groups.count < Self.maxGroups
            else { continue }
            let membership = GroupStore.Membership(
                id: welcome.group, topic: welcome.topic, name: String(welcome.name.prefix(128)), addedMs: clock.nowMs,
                welcomedBy: record.author)
            do {
                try await store.groups.save(membership)
                groups[welcome.group] = Group(membership: membership)
                byTopic[welcome.topic] = welcome.group
                await admitMembers(of: welcome.group)
                _ = try await gossip.subscribe(welcome.topic)
                logger.notice("joined a group", metadata: ["group": "\(membership.name)", "by": "\(record.author.short)"])
            } catch {
                logger.warning("could not join a group", metadata: ["error": "\(error)"])
            }
        }
    }
}
