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
