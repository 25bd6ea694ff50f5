import Metrics
import PlexusCore

/// What happened to one entry handed to the store.
public enum IngestOutcome: Sendable, Equatable {
    /// Stored. `linked` says whether the author's feed is now complete up to it.
    case stored(StoredEntry)
    /// Already held; nothing changed.
    case duplicate(cursor: Int64)
    /// Not stored, with the reason (`forkDetected`, `authorForked`, `tombstoned`, …).
    case refused(PlexusError)

    /// The stored entry, if this outcome stored one.
    public var stored: StoredEntry? {
        if case .stored(let entry) = self { return entry }
        return nil
    }
}

/// `plexus_entries_in_total{outcome}`: entries from elsewhere handed to the store, by what
/// became of them (`stored`, `duplicate`, or the refusal's error code).
enum IngestCounters {
    private static let stored = Counter(label: "plexus_entries_in_total", dimensions: [("outcome", "stored")])
    private static let duplicate = Counter(label: "plexus_entries_in_total", dimensions: [("outcome", "duplicate")])

    static func count(_ outcome: IngestOutcome) {
        switch outcome {
        case .stored: stored.increment()
        case .duplicate: duplicate.increment()
        case .refused(let error): Counter(label: "plexus_entries_in_total", dimensions: [("outcome", error.code.rawValue)]).increment()
        }
    }
}
