import Crypto
import Foundation
import PlexusCore
import PlexusProtocol
import PlexusStore

/// What members do inside a group (PROTOCOL.md §13.8–13.10): read, search and retract
/// claims, compile context, the task board, presence. All of it reads the opened entries
/// held in memory; nothing here writes plaintext to disk.
extension PrivateGroups {
    /// How long a feed read with `since` holds back behind a sealed entry whose epoch key
    /// has not arrived (it usually comes with the rekey a moment later), so a watcher does
    /// not move past it; after this the entry is passed over.
    static let keyWaitMs: Int64 = 10_000

    // MARK: - Claims and threads

    /// The view of an opened entry: what the envelope sealed, and whether it still stands.
    static func entryView(_ id: EntryID, in group: Group) -> EntryView? {
        guard let item = group.log[id], let stored = group.stored[id] else { return nil }
        var view = stored.view
        view.type = item.inner.type
        view.tags = item.inner.tags
        view.refs = item.inner.refs
        view.content = item.inner.content
        view.contentBase64 = nil
        view.group = group.membership.id
        view.supersedes = item.inner.supersedes.isEmpty ? nil : item.inner.supersedes
        switch group.log.state(of: id) {
        case .current: break
        case .superseded(let by): view.supersededBy = by
        case .retracted(let by): view.retractedBy = by
        }
        return view
    }

    /// A page of the group's opened entries.
    func feed(_ reference: String, _ request: GroupFeedRequest) throws(PlexusError) -> EntryPage {
        let group = try resolve(reference)
        let feed = request.feed
        let limit = try PageLimit.check(feed.limit ?? 50)
        let now = clock.nowMs
        // Reading forward, stop before a sealed entry still waiting for the key of an epoch
        // the roster knows (one naming an unknown epoch will not open: it holds nothing back).
        let horizon = feed.since == nil ? Int64.max : (group.unopened.values
            .filter { stored in
                now - stored.receivedMs < Self.keyWaitMs
                    && (try? SealedEntry.epoch(of: stored.entry)).map { group.roster.epochs[$0] != nil } == true
            }
            .map(\.cursor).min() ?? Int64.max)
        // A watcher reading forward is also given retractions, so it learns what to drop.
        let forward = feed.since != nil
        let matching = group.log.items.filter { item in
            item.cursor < horizon
                && (request.includeHidden || group.log.isListed(item, nowMs: now) || (forward && item.inner.type == GroupLog.retractType))
                && (request.sinceMs.map { item.timeMs >= $0 } ?? true)
                && (feed.author.map { item.author == $0 } ?? true)
                && (feed.type.map { item.inner.type == $0 } ?? true)
                && (feed.tag.map { item.inner.tags.contains($0) } ?? true)
                && (feed.ref.map { item.inner.refs.contains($0) } ?? true)
        }
        let page: [GroupItem]
        let hasMore: Bool
        if let since = feed.since {
            let after = matching.filter { $0.cursor > since }
            page = Array(after.prefix(limit))
            hasMore = after.count > limit
        } else {
            let before = matching.filter { item in feed.before.map { item.cursor < $0 } ?? true }
            page = Array(before.suffix(limit).reversed())
            hasMore = before.count > limit
        }
        let views = page.compactMap { Self.entryView($0.id, in: group) }
        let next = feed.since != nil ? (page.last?.cursor ?? feed.since) : page.last?.cursor
        return EntryPage(entries: views, nextCursor: next, hasMore: hasMore)
    }

    /// BM25 search over the group's opened entries.
    func search(_ reference: String, _ request: GroupSearchRequest) throws(PlexusError) -> SearchResults {
        let group = try resolve(reference)
        let limit = request.limit ?? 20
        guard (1...200).contains(limit) else { throw PlexusError(.invalidArgument, "limit must be between 1 and 200") }
        guard request.text.utf8.count <= GroupSearchRequest.maxQueryBytes else {
            throw PlexusError(.tooLarge, "a search query is at most \(GroupSearchRequest.maxQueryBytes) bytes")
        }
        let now = clock.nowMs
        let hits = group.index.search(request.text, limit: limit) { id in
            guard let item = group.log[id] else { return false }
            return (request.includeHidden || group.log.isListed(item, nowMs: now)) && (request.sinceMs.map { item.timeMs >= $0 } ?? true)
        }
        return SearchResults(
            query: request.text,
            hits: hits.compactMap { hit in Self.entryView(hit.id, in: group).map { SearchResults.Hit(entry: $0, rank: -hit.score) } })
    }

    /// Retracts one of this agent's entries, in whichever group holds it.
    func retract(_ target: EntryID, reason: String?) async throws(PlexusError) -> (StoredEntry, EntryID) {
        guard let group = groups.values.first(where: { $0.log.contains(target) }) else {
            throw PlexusError(.notFound, "entry \(target.hex.prefix(12)) is not an entry of a group this node is in (only group entries are retracted)")
        }
        try checkOwn(target, in: group, doing: "retract")
        if let reason, reason.utf8.count > BoardMove.maxReasonBytes {
            throw PlexusError(.tooLarge, "a reason is at most \(BoardMove.maxReasonBytes) bytes")
        }
        let content: JSONValue = .object(reason.map { ["reason": .string($0)] } ?? [:])
        let inner = GroupInner(type: GroupLog.retractType, refs: [target], supersedes: [target], content: content)
        return (try await seal(inner, expiresMs: nil, in: group.membership.id), group.membership.id)
    }

    // MARK: - Context

    func context(_ reference: String, _ request: ContextRequest) throws(PlexusError) -> ContextView {
        let group = try resolve(reference)
        let request = try request.validated()
        let compiled = ContextCompiler.compile(
            ContextQuery(text: request.query, budgetTokens: request.budget ?? ContextRequest.defaultBudget, sinceMs: request.sinceMs, nowMs: clock.nowMs),
            log: group.log, index: group.index)
        let pieces = compiled.pieces.compactMap { piece in
            Self.entryView(piece.item.id, in: group).map {
                ContextView.Piece(reason: piece.reason.rawValue, tokens: piece.tokens, score: piece.score, entry: $0)
            }
        }
        return ContextView(
            query: request.query, text: compiled.text, tokens: compiled.tokens, budget: compiled.budgetTokens,
            candidates: compiled.candidates, omitted: compiled.omitted, pieces: pieces)
    }

    // MARK: - Board

    /// The board as the fold over the group's standing board entries leaves it.
    static func taskBoard(of group: Group, nowMs: Int64) -> TaskBoard {
        let items = group.log.items(ofTypes: TaskBoard.types).filter { group.log.isListed($0, nowMs: nowMs) }
        return TaskBoard.fold(items, roles: group.roster.members)
    }

    func board(_ reference: String) async throws(PlexusError) -> BoardView {
        let group = try resolve(reference)
        let board = Self.taskBoard(of: group, nowMs: clock.nowMs)
        let ledger = try await ledgerIfAny(of: group)
        return BoardView(
            tasks: board.tasks.values.sorted { ($0.createdMs, $0.id.hex) > ($1.createdMs, $1.id.hex) }.map { Self.view($0, ledger: ledger) },
            refused: board.refused.map { VoidControlView(id: $0.key, reason: $0.value.message) }.sorted { $0.id.hex < $1.id.hex })
    }

    func createBoardTask(_ reference: String, _ request: BoardCreateRequest) async throws(PlexusError) -> BoardTaskView {
        let group = try resolve(reference)
        let request = try request.validated()
        if let assignee = request.assignee { try checkWriter(assignee, in: group) }
        var content: [String: JSONValue] = ["title": .string(request.title)]
        if let body = request.body { content["body"] = .string(body) }
        if let assignee = request.assignee { content["assignee"] = .string(assignee.hex) }
        guard let reward = request.reward else {
            let stored = try await seal(GroupInner(type: TaskBoard.createType, content: .object(content)), expiresMs: nil, in: group.membership.id)
            return try await boardTask(stored.entry.id, in: group.membership.id)
        }
        // A reward is locked in this agent's account chain by the same entry (PROTOCOL.md §14.4).
        content["reward"] = .integer(reward)
        if let arbiter = request.arbiter {
            guard arbiter != key.id else { throw PlexusError(.invalidContent, "a task's creator is not its arbiter") }
            try checkWriter(arbiter, in: group)
            content["arbiter"] = .string(arbiter.hex)
        }
        let posting = try await writeLedger(TaskBoard.createType, content, in: group.membership.id)
        return try await boardTask(posting.id, in: group.membership.id)
    }

    func moveBoardTask(_ reference: String, task: EntryID, _ move: BoardMove) async throws(PlexusError) -> BoardTaskView {
        let group = try resolve(reference)
        var board = Self.taskBoard(of: group, nowMs: clock.nowMs)
        guard let head = board.tasks[task]?.head else {
            throw PlexusError(.notFound, "no task \(task.hex.prefix(12)) on the board of \(group.membership.name)")
        }
        var content: [String: JSONValue] = [:]
        let type: String
        switch move {
        case .assign(let agent):
            try checkWriter(agent, in: group)
            type = TaskBoard.assignType
            content["assignee"] = .string(agent.hex)
        case .start:
            type = TaskBoard.startType
        case .complete(let result):
            type = TaskBoard.completeType
            content["result"] = .string(result.hex)
        case .fail(let reason):
            type = TaskBoard.failType
            content["reason"] = .string(reason)
        case .accept:
            type = TaskBoard.acceptType
        case .cancel:
            type = TaskBoard.cancelType
        case .dispute(let reason):
            type = TaskBoard.disputeType
            content["reason"] = .string(reason)
        case .rule(let to):
            type = TaskBoard.ruleType
            content["to"] = .string(to.hex)
        }
        let inner = GroupInner(type: type, refs: [task, head], content: .object(content))
        // The fold decides; ask it before signing so a refused move is an error, not a void entry.
        let trial = GroupItem(id: task, author: key.id, seq: 0, timeMs: clock.nowMs, cursor: .max, expiresMs: nil, inner: inner)
        if let refusal = board.apply(trial, roles: group.roster.members) {
            throw PlexusError(refusal.kind == .forbidden ? .forbidden : .rejected, refusal.message)
        }
        let stored = try await seal(inner, expiresMs: nil, in: group.membership.id)
        // Another move may have been made while this one was signed: it then does not count.
        if let current = groups[group.membership.id],
           let refusal = Self.taskBoard(of: current, nowMs: clock.nowMs).refused[stored.entry.id] {
            throw PlexusError(.rejected, "the move was signed but does not count: \(refusal.message)")
        }
        return try await boardTask(task, in: group.membership.id)
    }

    private func checkWriter(_ agent: AgentID, in group: Group) throws(PlexusError) {
        guard let role = group.roster.members[agent], role >= .member else {
            throw PlexusError(.rejected, "\(agent.short) is not a member of \(group.membership.name) who may write; it cannot take part in a task")
        }
    }

    private func boardTask(_ id: EntryID, in groupID: EntryID) async throws(PlexusError) -> BoardTaskView {
        guard let group = groups[groupID], let task = Self.taskBoard(of: group, nowMs: clock.nowMs).tasks[id] else {
            throw PlexusError(.internal, "the board entry just written does not fold into the board")
        }
        return Self.view(task, ledger: try await ledgerIfAny(of: group))
    }

    /// The group's ledger when it has a policy (a board without one has no rewards).
    func ledgerIfAny(of group: Group) async throws(PlexusError) -> Ledger? {
        group.roster.policies.isEmpty ? nil : try await ledgerState(of: group)
    }

    static func view(_ task: BoardTask, ledger: Ledger?) -> BoardTaskView {
        var escrow: String?
        if task.reward != nil {
            escrow = switch ledger {
            case let ledger? where ledger.refused[task.id] != nil: "refused"
            case let ledger? where ledger.escrowed[task.id] != nil: "locked"
            case let ledger? where ledger.postings[task.id] != nil: "released"
            default: "waiting"
            }
        }
        return BoardTaskView(
            id: task.id, creator: task.creator, title: task.title, body: task.body, assignee: task.assignee,
            state: task.state.rawValue, result: task.result, reason: task.reason, reward: task.reward, arbiter: task.arbiter,
            dispute: task.dispute, ruling: task.ruling, escrow: escrow, payee: task.payee, createdMs: task.createdMs,
            updatedMs: task.updatedMs, history: task.history)
    }

    // MARK: - Presence (PROTOCOL.md §13.10)

    /// Presence is refreshed at most this long apart, and at half its lifetime.
    static let presenceRefreshMs: Int64 = 60_000
    /// Readers who choose no threshold see presence older than this as stale.
    static let defaultStaleAfterMs: Int64 = 120_000

    private struct PresenceBody: Codable {
        var status: PresenceStatus
        var text: String?
        var note: JSONValue?
    }

    /// Sets this agent's presence; the node republishes it until it is changed.
    func setPresence(_ reference: String, _ request: PresenceRequest) async throws(PlexusError) -> PresenceView {
        let group = try resolve(reference)
        let request = try request.validated()
        guard group.roster.members[key.id] != nil else {
            throw PlexusError(.forbidden, "this agent is not a member of \(group.membership.name)")
        }
        let record = try presenceRecord(request, in: group)
        await gossip.publishRecord(record)
        if request.status == .offline {
            ownPresence.removeValue(forKey: group.membership.id)
        } else {
            ownPresence[group.membership.id] = (request, record.timeMs)
        }
        return PresenceView(
            agent: key.id, status: request.status, text: request.text, note: request.note, timeMs: record.timeMs,
            expiresMs: record.expiresMs, stale: false)
    }

    /// Republishes this agent's presence where it is due.
    func refreshPresence() async {
        let now = clock.nowMs
        for (id, own) in ownPresence {
            let ttlMs = Int64(own.request.ttlSeconds ?? PresenceRequest.defaultTTLSeconds) * 1000
            guard now - own.publishedMs >= min(ttlMs / 2, Self.presenceRefreshMs) else { continue }
            guard let group = groups[id], group.roster.members[key.id] != nil,
                  let record = try? presenceRecord(own.request, in: group)
            else {
                ownPresence.removeValue(forKey: id)
                continue
            }
            await gossip.publishRecord(record)
            ownPresence[id]?.publishedMs = record.timeMs
        }
    }

    /// A presence record: the body sealed under the sending epoch (label
    /// `plexus/group-presence/v1`, the record's time in place of a seq).
    private func presenceRecord(_ request: PresenceRequest, in group: Group) throws(PlexusError) -> SignedRecord {
        guard let epoch = group.roster.sendingEpoch, let epochKey = group.ring[epoch] else {
            throw PlexusError(.rejected, "this node holds no key of \(group.membership.name)'s current epoch yet; a manager must rekey")
        }
        let plaintext: Data
        do {
            plaintext = try JSONEncoder.compact.encode(PresenceBody(status: request.status, text: request.text, note: request.note))
        } catch {
            throw PlexusError(.internal, "could not encode presence: \(error)")
        }
        let now = clock.nowMs
        let lifetimeMs = request.status == .offline
            ? 10_000 : Int64(request.ttlSeconds ?? PresenceRequest.defaultTTLSeconds) * 1000
        let content = try SealedEntry.seal(
            plaintext, group: group.membership.id, epoch: epoch, epochKey: epochKey, author: key.id, seq: UInt64(max(now, 0)),
            label: GroupEnvelopeCipher.presenceLabel)
        return try SignedRecord(
            signing: content, kind: .groupPresence, scope: group.membership.id.hex, timeMs: now, expiresMs: now + lifetimeMs, with: key)
    }

    /// The presence of the group's current members, as records this node holds say.
    func presence(_ reference: String, staleAfterMs: Int64?) async throws(PlexusError) -> [PresenceView] {
        let group = try resolve(reference)
        if let staleAfterMs, staleAfterMs <= 0 { throw PlexusError(.invalidArgument, "stale_after_ms must be positive") }
        let threshold = staleAfterMs ?? Self.defaultStaleAfterMs
        let scope = group.membership.id.hex
        let now = clock.nowMs
        var views: [PresenceView] = []
        for record in await gossip.records(of: .groupPresence) where record.scope == scope && group.roster.members[record.author] != nil {
            guard let plaintext = try? SealedEntry.open(
                      content: record.content, group: group.membership.id, author: record.author, seq: UInt64(max(record.timeMs, 0)),
                      label: GroupEnvelopeCipher.presenceLabel, epochKey: { group.ring[$0] }),
                  let body = try? JSONDecoder().decode(PresenceBody.self, from: plaintext)
            else { continue }
            views.append(PresenceView(
                agent: record.author, status: body.status, text: body.text, note: body.note, timeMs: record.timeMs,
                expiresMs: record.expiresMs, stale: now - record.timeMs > threshold))
        }
        return views.sorted { $0.agent < $1.agent }
    }
}
