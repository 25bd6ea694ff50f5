import Foundation

/// What members do inside a private group (DESIGN §9, PROTOCOL.md §13.8–13.10): read and
/// search its claims and threads, retract them, compile context for an LLM, run the
/// group's task board and say who is around. `group` takes an id or a name, as in
/// `GroupService`.
public protocol GroupContentService: Sendable {
    /// The group's entries this node opened, in receive order. Retracted, superseded and
    /// expired entries are left out unless `includeHidden`.
    func groupFeed(group: String, _ request: GroupFeedRequest) async throws(PlexusError) -> EntryPage
    /// BM25 search over the group's opened entries (an index in memory, never on disk).
    func groupSearch(group: String, _ request: GroupSearchRequest) async throws(PlexusError) -> SearchResults
    /// Retracts one of this agent's group entries.
    func retract(_ entry: EntryID, reason: String?) async throws(PlexusError) -> EntryView
    /// The context that best answers a query within a token budget.
    func compileContext(group: String, _ request: ContextRequest) async throws(PlexusError) -> ContextView
    func board(group: String) async throws(PlexusError) -> BoardView
    func createBoardTask(group: String, _ request: BoardCreateRequest) async throws(PlexusError) -> BoardTaskView
    /// Moves a board task: assign, start, complete or fail.
    func moveBoardTask(group: String, task: EntryID, _ move: BoardMove) async throws(PlexusError) -> BoardTaskView
    /// The members' current presence; older than `staleAfterMs` is marked stale.
    func presence(group: String, staleAfterMs: Int64?) async throws(PlexusError) -> [PresenceView]
    /// Sets this agent's presence in the group (kept fresh by the node until changed).
    func setPresence(group: String, _ request: PresenceRequest) async throws(PlexusError) -> PresenceView
}

/// A page of a group's feed: the feed's filters and cursors, a window on the author's
/// time, and whether hidden entries are shown.
public struct GroupFeedRequest: Sendable, Equatable {
    public var feed: FeedRequest
    /// Only entries signed at or after this time (ms since the epoch, the author's clock).
    public var sinceMs: Int64?
    /// Also retracted, superseded and expired entries and retractions themselves.
    public var includeHidden: Bool

    public init(_ feed: FeedRequest = FeedRequest(), sinceMs: Int64? = nil, includeHidden: Bool = false) {
        self.feed = feed
        self.sinceMs = sinceMs
        self.includeHidden = includeHidden
    }
}

/// A search inside a group.
public struct GroupSearchRequest: Sendable, Equatable {
    public var text: String
    /// Hits (1–200, default 20).
    public var limit: Int?
    public var sinceMs: Int64?
    public var includeHidden: Bool

    /// Longest query, in UTF-8 bytes (as for `/v1/search`).
    public static let maxQueryBytes = 1024

    public init(_ text: String, limit: Int? = nil, sinceMs: Int64? = nil, includeHidden: Bool = false) {
        self.text = text
        self.limit = limit
        self.sinceMs = sinceMs
        self.includeHidden = includeHidden
    }
}

/// The body of `POST /v1/retract`.
public struct RetractRequest: Codable, Sendable, Equatable {
    /// The group entry to retract (this agent's own).
    public var id: EntryID
    public var reason: String?

    public init(id: EntryID, reason: String? = nil) {
        self.id = id
        self.reason = reason
    }
}

/// The body of `POST /v1/groups/{group}/context`.
public struct ContextRequest: Codable, Sendable, Equatable {
    public var query: String
    /// Most tokens of context (1–200000, default 2000).
    public var budget: Int?
    /// Only entries signed at or after this time (ms since the epoch).
    public var sinceMs: Int64?

    public init(query: String, budget: Int? = nil, sinceMs: Int64? = nil) {
        self.query = query
        self.budget = budget
        self.sinceMs = sinceMs
    }

    enum CodingKeys: String, CodingKey {
        case query, budget, sinceMs = "since_ms"
    }

    public static let defaultBudget = 2_000
    public static let maxBudget = 200_000
    public static let maxQueryBytes = 4_096

    public func validated() throws(PlexusError) -> ContextRequest {
        guard !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw PlexusError(.invalidArgument, "query must be text, not only spaces")
        }
        guard query.utf8.count <= Self.maxQueryBytes else {
            throw PlexusError(.tooLarge, "query is at most \(Self.maxQueryBytes) bytes of UTF-8")
        }
        let budget = budget ?? Self.defaultBudget
        guard (1...Self.maxBudget).contains(budget) else {
            throw PlexusError(.invalidArgument, "budget must be between 1 and \(Self.maxBudget) tokens")
        }
        if let sinceMs, sinceMs < 0 { throw PlexusError(.invalidArgument, "since_ms must not be negative") }
        return ContextRequest(query: query, budget: budget, sinceMs: sinceMs)
    }
}

/// A compiled context: `text` for the LLM, and each piece with the entry it cites.
public struct ContextView: Codable, Sendable, Equatable {
    public struct Piece: Codable, Sendable, Equatable {
        /// `match`, `parent` (of a match) or `reply` (the best reply to a match).
        public var reason: String
        public var tokens: Int
        public var score: Double
        public var entry: EntryView

        public init(reason: String, tokens: Int, score: Double, entry: EntryView) {
            self.reason = reason
            self.tokens = tokens
            self.score = score
            self.entry = entry
        }
    }

    public var query: String
    public var text: String
    public var tokens: Int
    public var budget: Int
    /// Matching entries that stand in the window.
    public var candidates: Int
    /// Matches left out for the budget.
    public var omitted: Int
    public var pieces: [Piece]

    public init(query: String, text: String, tokens: Int, budget: Int, candidates: Int, omitted: Int, pieces: [Piece]) {
        self.query = query
        self.text = text
        self.tokens = tokens
        self.budget = budget
        self.candidates = candidates
        self.omitted = omitted
        self.pieces = pieces
    }
}

/// One task of a group's board.
public struct BoardTaskView: Codable, Sendable, Equatable {
    public var id: EntryID
    public var creator: AgentID
    public var title: String
    public var body: String?
    public var assignee: AgentID?
    /// `open`, `assigned`, `started`, `completed`, `failed`, `accepted`, `cancelled`,
    /// `disputed` or `ruled`.
    public var state: String
    public var result: EntryID?
    public var reason: String?
    /// The reward its creator locked, the arbiter of a dispute, why it is disputed, and
    /// whom the arbiter ruled the reward to.
    public var reward: Int64?
    public var arbiter: AgentID?
    public var dispute: String?
    public var ruling: AgentID?
    /// Where the reward stands in the ledger: `locked`, `released` (receivable by or
    /// received by `payee`), `refused` (the lock did not count) or `waiting` (the ledger
    /// waits for an entry); absent without a reward.
    public var escrow: String?
    /// Whom the reward goes to once the task is settled.
    public var payee: AgentID?
    public var createdMs: Int64
    public var updatedMs: Int64
    /// The board entries that moved it, in order.
    public var history: [EntryID]

    public init(
        id: EntryID, creator: AgentID, title: String, body: String?, assignee: AgentID?, state: String, result: EntryID?,
        reason: String?, reward: Int64? = nil, arbiter: AgentID? = nil, dispute: String? = nil, ruling: AgentID? = nil,
        escrow: String? = nil, payee: AgentID? = nil, createdMs: Int64, updatedMs: Int64, history: [EntryID]
    ) {
        self.id = id
        self.creator = creator
        self.title = title
        self.body = body
        self.assignee = assignee
        self.state = state
        self.result = result
        self.reason = reason
        self.reward = reward
        self.arbiter = arbiter
        self.dispute = dispute
        self.ruling = ruling
        self.escrow = escrow
        self.payee = payee
        self.createdMs = createdMs
        self.updatedMs = updatedMs
        self.history = history
    }

    enum CodingKeys: String, CodingKey {
        case id, creator, title, body, assignee, state, result, reason, reward, arbiter, dispute, ruling, escrow, payee, history
        case createdMs = "created_ms", updatedMs = "updated_ms"
    }
}

/// A group's task board: its tasks (newest first) and the board entries that do not count.
public struct BoardView: Codable, Sendable, Equatable {
    public var tasks: [BoardTaskView]
    public var refused: [VoidControlView]

    public init(tasks: [BoardTaskView], refused: [VoidControlView]) {
        self.tasks = tasks
        self.refused = refused
    }
}

/// The body of `POST /v1/groups/{group}/board`.
public struct BoardCreateRequest: Codable, Sendable, Equatable {
    public var title: String
    public var body: String?
    public var assignee: AgentID?
    /// Tokens locked from the creator's account as the task's reward (PROTOCOL.md §14.4).
    public var reward: Int64?
    /// Who rules a dispute over the reward (needs a reward; not the creator).
    public var arbiter: AgentID?

    public init(title: String, body: String? = nil, assignee: AgentID? = nil, reward: Int64? = nil, arbiter: AgentID? = nil) {
        self.title = title
        self.body = body
        self.assignee = assignee
        self.reward = reward
        self.arbiter = arbiter
    }

    public static let maxTitleBytes = 200
    public static let maxBodyBytes = 8 * 1024

    public func validated() throws(PlexusError) -> BoardCreateRequest {
        guard !title.isEmpty else { throw PlexusError(.invalidArgument, "a task needs a title") }
        guard title.utf8.count <= Self.maxTitleBytes else {
            throw PlexusError(.tooLarge, "a task title is at most \(Self.maxTitleBytes) bytes of UTF-8")
        }
        guard (body?.utf8.count ?? 0) <= Self.maxBodyBytes else {
            throw PlexusError(.tooLarge, "a task body is at most \(Self.maxBodyBytes) bytes")
        }
        if let reward, !(1...Self.maxReward).contains(reward) {
            throw PlexusError(.invalidArgument, "reward must be a whole number from 1 to \(Self.maxReward)")
        }
        if arbiter != nil, reward == nil { throw PlexusError(.invalidContent, "an arbiter rules over a reward: give one with 'reward'") }
        return self
    }

    /// The largest reward (2^53, like every ledger amount).
    public static let maxReward: Int64 = 1 << 53
}

/// A move of a board task (`POST /v1/groups/{group}/board/{task}/{move}`).
public enum BoardMove: Sendable, Equatable {
    case assign(AgentID)
    case start
    /// Completed with the entry that holds the result.
    case complete(result: EntryID)
    case fail(reason: String)
    /// The creator accepts the result (a reward goes to the assignee).
    case accept
    /// The creator withdraws an open or failed task (a reward goes back to it).
    case cancel
    /// The creator or the assignee asks the arbiter to rule.
    case dispute(reason: String)
    /// The arbiter rules whom the reward goes to (the creator or the assignee).
    case rule(to: AgentID)

    public static let maxReasonBytes = 1024

    public var name: String {
        switch self {
        case .assign: "assign"
        case .start: "start"
        case .complete: "complete"
        case .fail: "fail"
        case .accept: "accept"
        case .cancel: "cancel"
        case .dispute: "dispute"
        case .rule: "rule"
        }
    }
}

/// The body of `POST …/board/{task}/assign|complete|fail|dispute|rule` (`start`, `accept`
/// and `cancel` take none).
public struct BoardMoveRequest: Codable, Sendable, Equatable {
    public var assignee: AgentID?
    public var result: EntryID?
    public var reason: String?
    /// A ruling's payee.
    public var to: AgentID?

    public init(assignee: AgentID? = nil, result: EntryID? = nil, reason: String? = nil, to: AgentID? = nil) {
        self.assignee = assignee
        self.result = result
        self.reason = reason
        self.to = to
    }

    private func checkedReason(for move: String) throws(PlexusError) -> String {
        guard let reason, !reason.isEmpty else { throw PlexusError(.invalidContent, "\(move) needs a 'reason'") }
        guard reason.utf8.count <= BoardMove.maxReasonBytes else {
            throw PlexusError(.tooLarge, "a reason is at most \(BoardMove.maxReasonBytes) bytes of UTF-8")
        }
        return reason
    }

    /// The move a request names by path, with what it needs (a body the document allows
    /// that lacks it is refused for what it says: `invalidContent`, 422).
    public func move(_ name: String) throws(PlexusError) -> BoardMove {
        switch name {
        case "assign":
            guard let assignee else { throw PlexusError(.invalidContent, "assign needs 'assignee' (an agent id)") }
            return .assign(assignee)
        case "start":
            return .start
        case "complete":
            guard let result else { throw PlexusError(.invalidContent, "complete needs 'result' (the id of the entry with the result)") }
            return .complete(result: result)
        case "fail":
            return .fail(reason: try checkedReason(for: name))
        case "accept":
            return .accept
        case "cancel":
            return .cancel
        case "dispute":
            return .dispute(reason: try checkedReason(for: name))
        case "rule":
            guard let to else { throw PlexusError(.invalidContent, "rule needs 'to' (the creator or the assignee)") }
            return .rule(to: to)
        default:
            throw PlexusError(
                .notFound, "no board move '\(name.prefix(32))'; moves are assign, start, complete, fail, accept, cancel, dispute and rule")
        }
    }
}

/// How a member says it is.
public enum PresenceStatus: String, Codable, Sendable, CaseIterable {
    case online, busy, away
    /// Clears the presence: published once with a short life, then no longer refreshed.
    case offline
}

/// The body of `PUT /v1/groups/{group}/presence`.
public struct PresenceRequest: Codable, Sendable, Equatable {
    public var status: PresenceStatus
    /// Free text, at most 256 bytes.
    public var text: String?
    /// Small metadata: a JSON object of at most 1 KiB.
    public var note: JSONValue?
    /// How long the presence lives without a refresh (10–3600 s, default 300).
    public var ttlSeconds: Int?

    public init(status: PresenceStatus, text: String? = nil, note: JSONValue? = nil, ttlSeconds: Int? = nil) {
        self.status = status
        self.text = text
        self.note = note
        self.ttlSeconds = ttlSeconds
    }

    enum CodingKeys: String, CodingKey {
        case status, text, note, ttlSeconds = "ttl_s"
    }

    public static let maxTextBytes = 256
    public static let maxNoteBytes = 1024
    public static let defaultTTLSeconds = 300
    public static let ttlRange = 10...3600

    public func validated() throws(PlexusError) -> PresenceRequest {
        guard (text?.utf8.count ?? 0) <= Self.maxTextBytes else {
            throw PlexusError(.tooLarge, "presence text is at most \(Self.maxTextBytes) bytes")
        }
        if let note {
            guard case .object = note else { throw PlexusError(.invalidArgument, "note must be a JSON object, not \(note.kindName)") }
            guard note.canonicalData().count <= Self.maxNoteBytes else {
                throw PlexusError(.tooLarge, "note is at most \(Self.maxNoteBytes) bytes of JSON")
            }
        }
        let ttl = ttlSeconds ?? Self.defaultTTLSeconds
        guard Self.ttlRange.contains(ttl) else {
            throw PlexusError(.invalidArgument, "ttl_s must be between \(Self.ttlRange.lowerBound) and \(Self.ttlRange.upperBound)")
        }
        return PresenceRequest(status: status, text: text, note: note, ttlSeconds: ttl)
    }
}

/// A member's presence as this node last heard it.
public struct PresenceView: Codable, Sendable, Equatable {
    public var agent: AgentID
    public var status: PresenceStatus
    public var text: String?
    public var note: JSONValue?
    /// When the member said it (its clock).
    public var timeMs: Int64
    public var expiresMs: Int64
    /// Older than the threshold the reader chose.
    public var stale: Bool

    public init(agent: AgentID, status: PresenceStatus, text: String?, note: JSONValue?, timeMs: Int64, expiresMs: Int64, stale: Bool) {
        self.agent = agent
        self.status = status
        self.text = text
        self.note = note
        self.timeMs = timeMs
        self.expiresMs = expiresMs
        self.stale = stale
    }

    enum CodingKeys: String, CodingKey {
        case agent, status, text, note, stale, timeMs = "time_ms", expiresMs = "expires_ms"
    }
}
