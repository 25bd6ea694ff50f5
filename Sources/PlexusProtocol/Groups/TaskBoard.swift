import PlexusCore

/// Where a board task stands.
public enum BoardTaskState: String, Sendable, Codable, CaseIterable {
    case open, assigned, started, completed, failed
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
    public var createdMs: Int64
    public var updatedMs: Int64
    /// The board entries that moved it, in the order the fold applied them.
    public var history: [EntryID]
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
/// of types `board.*`. Who may do what is the fold's rule, not the caller's word:
/// the creator or a manager assigns, only the assignee starts, completes and fails.
/// Entries that break a rule are listed in `refused` with the reason.
public struct TaskBoard: Sendable, Equatable {
    public static let createType = "board.create"
    public static let assignType = "board.assign"
    public static let startType = "board.start"
    public static let completeType = "board.complete"
    public static let failType = "board.fail"
    public static let types: Set<String> = [createType, assignType, startType, completeType, failType]

    /// Longest title and body, in UTF-8 bytes.
    public static let maxTitleBytes = 200
    public static let maxBodyBytes = 8 * 1024
    public static let maxReasonBytes = 1024

    /// Most entries kept waiting for the board to allow them (a bound against a flood of
    /// entries that never count); beyond it the oldest is refused for good.
    static let maxWaiting = 256

    public private(set) var tasks: [EntryID: BoardTask] = [:]
    /// Board entries that do not count, and why.
    public private(set) var refused: [EntryID: BoardRefusal] = [:]

    public init() {}

    /// The board from `items` (the group's opened entries, any order) and the current
    /// roles. Entries are taken by (author time, id). An entry the board does not allow
    /// yet waits, and waiting entries are tried again, oldest first, after each entry that
    /// counts: a start signed before the assign it follows (a skewed clock) still counts
    /// before anything later. The result does not depend on arrival order.
    public static func fold(_ items: [GroupItem], roles: [AgentID: GroupRole]) -> TaskBoard {
        var board = TaskBoard()
        let ordered = items.filter { types.contains($0.inner.type) }.sorted {
            $0.timeMs != $1.timeMs ? $0.timeMs < $1.timeMs : $0.id.bytes.lexicographicallyPrecedes($1.id.bytes)
        }
        var waiting: [(item: GroupItem, refusal: BoardRefusal)] = []
        for item in ordered {
            if let refusal = board.apply(item, roles: roles) {
                waiting.append((item, refusal))
                if waiting.count > maxWaiting {
                    let oldest = waiting.removeFirst()
                    board.refused[oldest.item.id] = oldest.refusal
                }
                continue
            }
            // Something counted: what waited may count now.
            var retried = true
            while retried {
                retried = false
                for (index, entry) in waiting.enumerated() {
                    if let refusal = board.apply(entry.item, roles: roles) {
                        waiting[index].refusal = refusal
                    } else {
                        waiting.remove(at: index)
                        retried = true
                        break
                    }
                }
            }
        }
        for entry in waiting { board.refused[entry.item.id] = entry.refusal }
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
            tasks[item.id] = BoardTask(
                id: item.id, creator: item.author, title: title, body: body, assignee: assignee,
                state: assignee == nil ? .open : .assigned, result: nil, reason: nil, createdMs: item.timeMs,
                updatedMs: item.timeMs, history: [item.id])
            return nil
        }
        guard let taskID = item.parent, var task = tasks[taskID] else { return BoardRefusal(.conflict, "names no task on the board (first ref)") }
        let isManager = (roles[item.author] ?? .reader) >= .manager
        switch item.inner.type {
        case Self.assignType:
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
            guard case .string(let reason)? = content["reason"], !reason.isEmpty, reason.utf8.count <= Self.maxReasonBytes else {
                return BoardRefusal(.malformed, "a failure gives a reason of 1–\(Self.maxReasonBytes) bytes")
            }
            task.reason = reason
            task.state = .failed
        default:
            return BoardRefusal(.malformed, "not a board entry")
        }
        task.updatedMs = max(task.updatedMs, item.timeMs)
        task.history.append(item.id)
        tasks[taskID] = task
        return nil
    }
}
