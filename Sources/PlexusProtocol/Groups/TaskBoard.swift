import PlexusCore

/// Where a board task stands.
public enum BoardTaskState: String, Sendable, Codable, CaseIterable {
    case open, assigned, started, completed, failed
    /// The creator accepted the result (a reward goes to the assignee).
    case accepted
    /// The creator withdrew the task before assignment or after a failure (a reward goes
    /// back to the creator).
    case cancelled
    /// The creator or the assignee asked the task's arbiter to rule.
    case disputed
    /// The arbiter ruled whom the reward goes to.
    case ruled

    /// Whether no move follows.
    public var isFinal: Bool { self == .accepted || self == .cancelled || self == .ruled }
}

/// One task of a group's board, as the fold leaves it.
public struct BoardTask: Sendable, Equatable {
    /// The id of its `board.create` entry.
    public var id: EntryID
    public var creator: AgentID
    public var title: String
    public var body: String?
    public var assignee: AgentID?
    public var state: BoardTaskState
    /// The entry a completion names as its result.
    public var result: EntryID?
    /// Why it failed.
    public var reason: String?
    /// Tokens its creator locked as its reward (PROTOCOL.md §14.4), if any.
    public var reward: Int64?
    /// Who rules a dispute (named at creation; only with a reward).
    public var arbiter: AgentID?
    /// Why it is disputed.
    public var dispute: String?
    /// Whom the arbiter ruled the reward to.
    public var ruling: AgentID?
    public var createdMs: Int64
    public var updatedMs: Int64
    /// The board entries that moved it, in the order the fold applied them (the create
    /// first). Its last element is the task's **head**: the next move must build on it.
    public var history: [EntryID]

    /// The entry the next move of this task must name as its second ref.
    public var head: EntryID { history.last ?? id }

    /// Whom the task's escrow goes to, once settled: the assignee when accepted, the
    /// creator when cancelled, the ruling when ruled; nil while it is not settled.
    public var payee: AgentID? {
        switch state {
        case .accepted: assignee
        case .cancelled: creator
        case .ruled: ruling
        default: nil
        }
    }
}

/// Why a board entry does not count.
public struct BoardRefusal: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Its author may not do that.
        case forbidden
        /// The task's state does not allow it, or it names no task.
        case conflict
        /// It is not a well-formed board entry.
        case malformed
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// A group's task board (PROTOCOL.md §13.9): a pure fold over the group's opened entries
/// of types `board.*`. Every move names the task (first ref) and the task's head it built
/// on (second ref), so a task's moves form a chain: a move signed without seeing the last
/// one does not count, whatever time it claims. Who may do what is the fold's rule, not the
/// caller's word:
/// the creator or a manager assigns (only the creator, for a task with a reward), only the
/// assignee starts, completes and fails; the creator accepts a completed task or cancels an
/// open or failed one; the creator or the assignee disputes a rewarded task with an arbiter,
/// and the arbiter rules.
/// Entries that break a rule are listed in `refused` with the reason.
public struct TaskBoard: Sendable, Equatable {
    public static let createType = "board.create"
    public static let assignType = "board.assign"
    public static let startType = "board.start"
    public static let completeType = "board.complete"
    public static let failType = "board.fail"
    public static let acceptType = "board.accept"
    public static let cancelType = "board.cancel"
    public static let disputeType = "board.dispute"
    public static let ruleType = "board.rule"
    public static let types: Set<String> = [
        createType, assignType, startType, completeType, failType, acceptType, cancelType, disputeType, ruleType,
    ]

    /// Longest title and body, in UTF-8 bytes.
    public static let maxTitleBytes = 200
    public static let maxBodyBytes = 8 * 1024
    public static let maxReasonBytes = 1024
    /// Most moves one task takes; later ones are refused (a bound on what one member can make
    /// every reader fold).
    public static let maxMoves = 256


    public private(set) var tasks: [EntryID: BoardTask] = [:]
    /// Board entries that do not count, and why.
    public private(set) var refused: [EntryID: BoardRefusal] = [:]

    public init() {}

    /// The board from `items` (the group's opened entries, any order) and the current
    /// roles. Creates are applied first; then each task follows its chain: of the moves
    /// that name the task's head, one counts (a move by the task's assignee before an
    /// assign, so a reassignment signed concurrently cannot undo the assignee's work; then
    /// the lowest id) and becomes the new head. Signing times play no part, so neither
    /// arrival order nor a claimed time changes the result.
    public static func fold(_ items: [GroupItem], roles: [AgentID: GroupRole]) -> TaskBoard {
        var board = TaskBoard()
        var moves: [EntryID: [GroupItem]] = [:]  // by the head they name
        var unplaced: [GroupItem] = []
        for item in items where types.contains(item.inner.type) {
            if item.inner.type == createType {
                if let refusal = board.apply(item, roles: roles) { board.refused[item.id] = refusal }
            } else if item.inner.refs.count >= 2 {
                moves[item.inner.refs[1], default: []].append(item)
            } else {
                unplaced.append(item)
            }
        }
        var placed: Set<EntryID> = []
        for taskID in board.tasks.keys {
            while let task = board.tasks[taskID], let candidates = moves[task.head] {
                let ordered = candidates.filter { $0.parent == taskID }.sorted { a, b in
                    let (aFirst, bFirst) = (a.author == task.assignee && a.inner.type != assignType, b.author == task.assignee && b.inner.type != assignType)
                    return aFirst != bFirst ? aFirst : a.id.bytes.lexicographicallyPrecedes(b.id.bytes)
                }
                var winner: (id: EntryID, task: BoardTask)?
                for item in ordered {
                    placed.insert(item.id)
                    // Each is judged on the task as it stood at this head.
                    var trial = task
                    if let refusal = move(&trial, by: item, roles: roles) {
                        board.refused[item.id] = refusal
                    } else if let winner {
                        board.refused[item.id] = BoardRefusal(.conflict, "concurrent with \(winner.id.hex.prefix(12)), which counts")
                    } else {
                        winner = (item.id, trial)
                    }
                }
                guard let winner else { break }
                board.tasks[taskID] = winner.task
            }
        }
        for item in moves.values.joined() where !placed.contains(item.id) {
            board.refused[item.id] = BoardRefusal(.conflict, "builds on a move of no task on the board, or one that did not count")
        }
        for item in unplaced {
            board.refused[item.id] = BoardRefusal(.malformed, "a move names its task and the task's last move (two refs)")
        }
        return board
    }

    /// Applies one board entry (what the fold does for each, in order); why it does not
    /// count, or nil. A node asks it before signing a move, so a refused move is an error.
    public mutating func apply(_ item: GroupItem, roles: [AgentID: GroupRole]) -> BoardRefusal? {
        let content = item.inner.content.objectValue ?? [:]
        if item.inner.type == Self.createType {
            guard case .string(let title)? = content["title"], !title.isEmpty, title.utf8.count <= Self.maxTitleBytes else {
                return BoardRefusal(.malformed, "a task needs a title of 1–\(Self.maxTitleBytes) bytes")
            }
            var assignee: AgentID?
            if let value = content["assignee"], value != .null {
                guard case .string(let text) = value, let agent = AgentID(text) else { return BoardRefusal(.malformed, "assignee is not an agent id") }
                assignee = agent
            }
            var body: String?
            if case .string(let text)? = content["body"] {
                guard text.utf8.count <= Self.maxBodyBytes else { return BoardRefusal(.malformed, "a task body is at most \(Self.maxBodyBytes) bytes") }
                body = text
            }
            var reward: Int64?
            if let value = content["reward"], value != .null {
                guard case .integer(let amount) = value, amount >= 1, amount <= LedgerPolicy.maxAmount else {
                    return BoardRefusal(.malformed, "a reward is a whole number from 1 to 2^53")
                }
                reward = amount
            }
            var arbiter: AgentID?
            if let value = content["arbiter"], value != .null {
                guard case .string(let text) = value, let agent = AgentID(text) else { return BoardRefusal(.malformed, "arbiter is not an agent id") }
                guard reward != nil else { return BoardRefusal(.malformed, "only a task with a reward names an arbiter") }
                guard agent != item.author else { return BoardRefusal(.malformed, "a task's creator is not its arbiter") }
                arbiter = agent
            }
            tasks[item.id] = BoardTask(
                id: item.id, creator: item.author, title: title, body: body, assignee: assignee,
                state: assignee == nil ? .open : .assigned, result: nil, reason: nil, reward: reward, arbiter: arbiter,
                createdMs: item.timeMs, updatedMs: item.timeMs, history: [item.id])
            return nil
        }
        guard let taskID = item.parent, var task = tasks[taskID] else {
            return BoardRefusal(.conflict, "names no task on the board (first ref)")
        }
        if let refusal = Self.move(&task, by: item, roles: roles) { return refusal }
        tasks[taskID] = task
        return nil
    }

    /// A move's `reason`: 1 to `maxReasonBytes` bytes, or nil.
    private static func reason(in content: [String: JSONValue]) -> String? {
        guard case .string(let reason)? = content["reason"], !reason.isEmpty, reason.utf8.count <= maxReasonBytes else { return nil }
        return reason
    }

    /// Moves `task` by `item`, or says why it may not (then `task` is unchanged).
    private static func move(_ task: inout BoardTask, by item: GroupItem, roles: [AgentID: GroupRole]) -> BoardRefusal? {
        let content = item.inner.content.objectValue ?? [:]
        guard item.inner.refs.count >= 2, item.inner.refs[1] == task.head else {
            return BoardRefusal(.conflict, "does not build on the task's last move \(task.head.hex.prefix(12)) (second ref)")
        }
        guard task.history.count <= maxMoves else { return BoardRefusal(.conflict, "a task moves at most \(maxMoves) times") }
        let isManager = (roles[item.author] ?? .reader) >= .manager
        switch item.inner.type {
        case Self.assignType:
            if task.reward != nil {
                guard item.author == task.creator else { return BoardRefusal(.forbidden, "only the creator assigns a task with a reward") }
            }
            guard item.author == task.creator || isManager else { return BoardRefusal(.forbidden, "only the task's creator or a manager assigns") }
            guard task.state == .open || task.state == .assigned else { return BoardRefusal(.conflict, "a \(task.state.rawValue) task is not assigned again") }
            guard case .string(let text)? = content["assignee"], let agent = AgentID(text) else { return BoardRefusal(.malformed, "assignee is not an agent id") }
            task.assignee = agent
            task.state = .assigned
        case Self.startType:
            guard item.author == task.assignee else { return BoardRefusal(.forbidden, "only the assignee starts a task") }
            guard task.state == .assigned else { return BoardRefusal(.conflict, "only an assigned task starts (it is \(task.state.rawValue))") }
            task.state = .started
        case Self.completeType:
            guard item.author == task.assignee else { return BoardRefusal(.forbidden, "only the assignee completes a task") }
            guard task.state == .started || task.state == .assigned else { return BoardRefusal(.conflict, "a \(task.state.rawValue) task does not complete") }
            guard case .string(let text)? = content["result"], let result = EntryID(text) else {
                return BoardRefusal(.malformed, "a completion names its result entry (result: entry id)")
            }
            task.result = result
            task.state = .completed
        case Self.failType:
            guard item.author == task.assignee else { return BoardRefusal(.forbidden, "only the assignee fails a task") }
            guard task.state == .started || task.state == .assigned else { return BoardRefusal(.conflict, "a \(task.state.rawValue) task does not fail") }
            guard let reason = reason(in: content) else {
                return BoardRefusal(.malformed, "a failure gives a reason of 1–\(Self.maxReasonBytes) bytes")
            }
            task.reason = reason
            task.state = .failed
        case Self.acceptType:
            guard item.author == task.creator else { return BoardRefusal(.forbidden, "only the task's creator accepts its result") }
            guard task.state == .completed else { return BoardRefusal(.conflict, "only a completed task is accepted (it is \(task.state.rawValue))") }
            task.state = .accepted
        case Self.cancelType:
            guard item.author == task.creator else { return BoardRefusal(.forbidden, "only the task's creator cancels it") }
            guard task.state == .open || task.state == .failed else {
                return BoardRefusal(.conflict, "only an open or failed task is cancelled (it is \(task.state.rawValue))")
            }
            task.state = .cancelled
        case Self.disputeType:
            guard item.author == task.creator || item.author == task.assignee else {
                return BoardRefusal(.forbidden, "only the task's creator or assignee disputes it")
            }
            guard task.arbiter != nil else { return BoardRefusal(.conflict, "the task names no arbiter") }
            guard [.assigned, .started, .completed, .failed].contains(task.state) else {
                return BoardRefusal(.conflict, "a \(task.state.rawValue) task is not disputed")
            }
            guard let reason = reason(in: content) else {
                return BoardRefusal(.malformed, "a dispute gives a reason of 1–\(Self.maxReasonBytes) bytes")
            }
            task.dispute = reason
            task.state = .disputed
        case Self.ruleType:
            guard item.author == task.arbiter else { return BoardRefusal(.forbidden, "only the task's arbiter rules") }
            guard task.state == .disputed else { return BoardRefusal(.conflict, "only a disputed task is ruled (it is \(task.state.rawValue))") }
            guard case .string(let text)? = content["to"], let to = AgentID(text), to == task.creator || to == task.assignee else {
                return BoardRefusal(.malformed, "a ruling names the creator or the assignee (to)")
            }
            task.ruling = to
            task.state = .ruled
        default:
            return BoardRefusal(.malformed, "not a board entry")
        }
        task.updatedMs = max(task.updatedMs, item.timeMs)
        task.history.append(item.id)
        return nil
    }
}
