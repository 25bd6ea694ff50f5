import PlexusCore

/// One opened group entry as the views of a group read it (PROTOCOL.md §13.8).
public struct GroupItem: Sendable, Equatable {
    public let id: EntryID
    public let author: AgentID
    /// Its seq in the author's feed.
    public let seq: UInt64
    /// The author's signing time.
    public let timeMs: Int64
    /// This node's receive order.
    public let cursor: Int64
    public let expiresMs: Int64?
    public let inner: GroupInner

    public init(id: EntryID, author: AgentID, seq: UInt64, timeMs: Int64, cursor: Int64, expiresMs: Int64?, inner: GroupInner) {
        self.id = id
        self.author = author
        self.seq = seq
        self.timeMs = timeMs
        self.cursor = cursor
        self.expiresMs = expiresMs
        self.inner = inner
    }

    /// The thread parent: the first ref.
    public var parent: EntryID? { inner.refs.first }

    public func isExpired(nowMs: Int64) -> Bool {
        expiresMs.map { $0 <= nowMs } ?? false
    }
}

/// Whether an entry still stands (PROTOCOL.md §13.8).
public enum ClaimState: Sendable, Equatable {
    case current
    /// Replaced by a later entry of its author.
    case superseded(by: EntryID)
    /// Taken back by its author with a `retract` entry.
    case retracted(by: EntryID)
}

/// The opened entries of one group in receive order, with what replaces what and who
/// replies to whom. Pure and incremental: `insert` takes entries in any order, and each
/// query answers from what was inserted (a supersession that arrives before its target
/// applies once the target is there).
public struct GroupLog: Sendable {
    /// The inner type of a retraction.
    public static let retractType = "retract"

    /// Entries in receive order.
    public private(set) var items: [GroupItem] = []
    private var byID: [EntryID: GroupItem] = [:]
    /// Target → entries that name it in `supersedes` (of any author; checked when read).
    private var replacements: [EntryID: [EntryID]] = [:]
    /// Parent → replies, in receive order.
    private var children: [EntryID: [EntryID]] = [:]
    /// Inner type → entries of it, in insertion order (for folds over a few types).
    private var byType: [String: [EntryID]] = [:]

    public init() {}

    public var count: Int { items.count }

    public func contains(_ id: EntryID) -> Bool { byID[id] != nil }

    public subscript(id: EntryID) -> GroupItem? { byID[id] }

    /// The entries of `types`, in insertion order (not receive order: for folds that do not
    /// depend on order), without reading the others.
    public func items(ofTypes types: Set<String>) -> [GroupItem] {
        types.flatMap { byType[$0] ?? [] }.compactMap { byID[$0] }
    }

    /// How many entries of `types` the log holds: it only grows, so a changed count means
    /// an entry of one of them arrived.
    public func count(ofTypes types: Set<String>) -> Int {
        types.reduce(0) { $0 + (byType[$1]?.count ?? 0) }
    }

    /// Adds an entry (a second insert of the same id is ignored); false when it was there.
    @discardableResult
    public mutating func insert(_ item: GroupItem) -> Bool {
        insert(contentsOf: [item]) == 1
    }

    /// Adds entries in any order (ids already held are ignored) and keeps receive order:
    /// one sort when some arrive behind held ones (a key that came late opens a backlog).
    /// Returns how many were new.
    @discardableResult
    public mutating func insert(contentsOf batch: [GroupItem]) -> Int {
        var added = 0
        var ordered = true
        for item in batch where byID[item.id] == nil {
            byID[item.id] = item
            byType[item.inner.type, default: []].append(item.id)
            if let last = items.last, last.cursor > item.cursor { ordered = false }
            items.append(item)
            for target in item.inner.supersedes where target != item.id { replacements[target, default: []].append(item.id) }
            if let parent = item.parent, parent != item.id { children[parent, default: []].append(item.id) }
            added += 1
        }
        if !ordered { items.sort { $0.cursor < $1.cursor } }
        return added
    }

    /// Whether `id` stands, was superseded or was retracted. Only entries by the same
    /// author count; a retraction wins over a supersession, and of several supersessions
    /// the latest by (time, id) is named.
    public func state(of id: EntryID) -> ClaimState {
        guard let item = byID[id], let claims = replacements[id] else { return .current }
        let own = claims.compactMap { byID[$0] }.filter { $0.author == item.author }
        if let retraction = own.filter({ $0.inner.type == Self.retractType }).min(by: Self.earlier) {
            return .retracted(by: retraction.id)
        }
        if let latest = own.max(by: Self.earlier) { return .superseded(by: latest.id) }
        return .current
    }

    /// Whether an entry is shown in views by default: it stands, has not expired, and is
    /// not itself a retraction.
    public func isListed(_ item: GroupItem, nowMs: Int64) -> Bool {
        item.inner.type != Self.retractType && !item.isExpired(nowMs: nowMs) && state(of: item.id) == .current
    }

    /// The replies to `id`, in receive order.
    public func replies(to id: EntryID) -> [GroupItem] {
        (children[id] ?? []).compactMap { byID[$0] }
    }

    /// The ancestors of `id` by parent, nearest first (bounded, cycle-safe).
    public func ancestors(of id: EntryID, limit: Int = 64) -> [GroupItem] {
        var chain: [GroupItem] = []
        var seen: Set<EntryID> = [id]
        var next = byID[id]?.parent
        while let parent = next, chain.count < limit, seen.insert(parent).inserted, let item = byID[parent] {
            chain.append(item)
            next = item.parent
        }
        return chain
    }

    private static func earlier(_ a: GroupItem, _ b: GroupItem) -> Bool {
        a.timeMs != b.timeMs ? a.timeMs < b.timeMs : a.id.bytes.lexicographicallyPrecedes(b.id.bytes)
    }
}
