import PlexusCore

/// What either side keeps of a task: at least its view.
public protocol TaskRecord: Sendable {
    var view: TaskView { get }
}

/// The tasks one side remembers, in arrival order and bounded: beyond `limit` those that
/// ended longest ago are forgotten, in batches (an eighth of the limit), so the scan is
/// paid once per many tasks. By end, not by arrival: a task that ran long while many newer
/// ones came and went has just ended, and whoever waits on it is yet to read its outcome.
/// Keeps apart those that have not ended (every change goes through the subscript, which
/// sees each end), which the periodic sweeps look at instead of every task.
public struct RememberedTasks<Record: TaskRecord>: Sendable {
    public let limit: Int
    private var records: [TaskID: Record] = [:]
    private var order: [TaskID] = []
    private var unended: Set<TaskID> = []
    /// The tasks in the order they ended (some since forgotten by `remove`).
    private var ended: [TaskID] = []

    public init(limit: Int) {
        self.limit = limit
    }

    public subscript(id: TaskID) -> Record? {
        get { records[id] }
        set {
            if let newValue, newValue.view.state.isTerminal, unended.remove(id) != nil { ended.append(id) }
            records[id] = newValue
        }
    }

    public mutating func insert(_ record: Record) {
        let id = record.view.id
        records[id] = record
        order.append(id)
        if record.view.state.isTerminal { ended.append(id) } else { unended.insert(id) }
        guard order.count > limit + limit / 8 else { return }
        forgetEndedLongestAgo(order.count - limit)
    }

    /// Forgets the `count` tasks that ended longest ago (fewer when fewer have ended).
    private mutating func forgetEndedLongestAgo(_ count: Int) {
        var forget: Set<TaskID> = []
        var taken = 0
        while forget.count < count, taken < ended.count {
            let id = ended[taken]
            taken += 1
            guard records[id]?.view.state.isTerminal == true else { continue }  // forgotten by `remove`
            records.removeValue(forKey: id)
            forget.insert(id)
        }
        ended.removeFirst(taken)
        guard !forget.isEmpty else { return }
        // Those that end first mostly arrived first: look only until every one is found.
        var kept: [TaskID] = []
        kept.reserveCapacity(order.count - forget.count)
        var found = 0
        var position = 0
        while position < order.count, found < forget.count {
            if forget.contains(order[position]) { found += 1 } else { kept.append(order[position]) }
            position += 1
        }
        kept.append(contentsOf: order[position...])
        order = kept
    }

    /// Whether any task has not ended: the sweeps have deadlines to watch.
    public var hasUnended: Bool { !unended.isEmpty }

    /// Forgets a task entirely.
    public mutating func remove(_ id: TaskID) {
        records.removeValue(forKey: id)
        unended.remove(id)
        order.removeAll { $0 == id }
    }

    /// The tasks that have not ended.
    public func live() -> [(id: TaskID, record: Record)] {
        unended.compactMap { id in records[id].map { (id, $0) } }
    }

    /// The newest `count` tasks, newest first.
    public func newest(_ count: Int) -> [Record] {
        order.suffix(count).reversed().compactMap { records[$0] }
    }
}
