import PlexusCore

/// The signed soft state a node holds (DESIGN §1, §7): the current record of each author,
/// kind and scope, each until it expires. Pure and bounded: the caller passes the time,
/// and forwards a record only when `insert` says it was new here, which is what stops a
/// record flooding the mesh for ever.
public struct SoftStateTable: Sendable {
    /// What `insert` did with a record.
    public enum Outcome: Sendable, Equatable {
        /// The first record of its slot here: keep spreading it.
        case added
        /// It replaced an older record of its slot: keep spreading it.
        case replaced
        /// This record or a newer one of its slot is held already: spreading stops here.
        case known
        /// It has expired (or expires now): dropped.
        case expired
        /// The table is full of records that live longer: dropped.
        case full

        /// Whether the record is new here (and so is passed on).
        public var isNew: Bool { self == .added || self == .replaced }
    }

    /// Most records held; when full, the record closest to expiry makes room.
    public let capacity: Int
    private var records: [SignedRecord.Slot: SignedRecord] = [:]
    /// The ids of the records held.
    private var ids: Set<EntryID> = []

    public init(capacity: Int = 10_000) {
        self.capacity = max(1, capacity)
    }

    public var count: Int { records.count }

    /// Whether this exact record (by id) is held: a copy is known without checking its
    /// signature again.
    public func holds(_ id: EntryID) -> Bool {
        ids.contains(id)
    }

    /// Adds a record unless a newer one of its slot is held or it has expired.
    public mutating func insert(_ record: SignedRecord, nowMs: Int64) -> Outcome {
        guard record.expiresMs > nowMs else { return .expired }
        if let held = records[record.slot] {
            if held.expiresMs > nowMs && !record.supersedes(held) { return .known }
            ids.remove(held.id)
            ids.insert(record.id)
            records[record.slot] = record
            return .replaced
        }
        if records.count >= capacity {
            expire(nowMs: nowMs)
            if records.count >= capacity {
                guard let soonest = records.values.min(by: { $0.expiresMs < $1.expiresMs }), soonest.expiresMs < record.expiresMs else {
                    return .full
                }
                records.removeValue(forKey: soonest.slot)
                ids.remove(soonest.id)
            }
        }
        records[record.slot] = record
        ids.insert(record.id)
        return .added
    }

    /// Drops every record that has expired; returns how many.
    @discardableResult
    public mutating func expire(nowMs: Int64) -> Int {
        let before = records.count
        records = records.filter { $0.value.expiresMs > nowMs }
        if records.count != before { ids = Set(records.values.map(\.id)) }
        return before - records.count
    }

    /// The current record of a slot, if held and unexpired.
    public func record(_ slot: SignedRecord.Slot, nowMs: Int64) -> SignedRecord? {
        records[slot].flatMap { $0.expiresMs > nowMs ? $0 : nil }
    }

    /// Every unexpired record of `kind`, newest first.
    public func records(of kind: SignedRecord.Kind, nowMs: Int64) -> [SignedRecord] {
        records.values.filter { $0.kind == kind && $0.expiresMs > nowMs }.sorted { $0.supersedes($1) }
    }

    /// Every unexpired record, in no particular order (what a new neighbour is sent).
    public func all(nowMs: Int64) -> [SignedRecord] {
        records.values.filter { $0.expiresMs > nowMs }
    }
}
