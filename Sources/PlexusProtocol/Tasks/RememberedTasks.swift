import PlexusCore

/// What either side keeps of a task: at least its view.
public protocol TaskRecord: Sendable {
    var view: TaskView { get }
}

/// The tasks one side remembers, in arrival order and bounded: beyond `limit` the oldest
/// ended ones are forgotten, in batches (an eighth of the limit), so the scan is paid once
/// per many tasks. Keeps apart those not known to have ended, which the periodic sweeps
/// look at instead of every task.
public struct RememberedTasks<Record: TaskRecord>: Sendable {
    public let limit: Int
    private var records: [TaskID: Record] = [:]
    private var order: [TaskID] = []
    private var unended: Set<TaskID> = []

    public init(limit: Int) {
        self.limit = limit
    }

    public subscript(id: TaskID) -> Record? {
        get { records[id] }
        set { records[id] = newValue }
    }

    public mutating func insert(_ record: Record) {
        let id = record.view.id
        records[id] = record
        order.append(id)
        unended.insert(id)
        guard order.count > limit + limit / 8 else { return }
        let excess = order.count - limit
        var forgotten = 0
        order.removeAll { id in
            guard forgotten < excess, records[id]?.view.state.isTerminal ?? true else { return false }
            records.removeValue(forKey: id)
            forgotten += 1
            return true
        }
    }

    /// Whether any task may not have ended: the sweeps have deadlines to watch.
    public var hasUnended: Bool { !unended.isEmpty }

    /// Forgets a task entirely.
    public mutating func remove(_ id: TaskID) {
        records.removeValue(forKey: id)
        unended.remove(id)
        order.removeAll { $0 == id }
    }

    /// The tasks that have not ended (those found ended meanwhile are dropped from the set).
    public mutating func live() -> [(id: TaskID, record: Record)] {
        var live: [(id: TaskID, record: Record)] = []
        for id in unended {
            if let record = records[id], !record.view.state.isTerminal {
                live.append((id, record))
            } else {
                unended.remove(id)
            }
        }
        return live
    }

    /// The newest `count` tasks, newest first.
    public func newest(_ count: Int) -> [Record] {
        order.suffix(count).reversed().compactMap { records[$0] }
    }
}
