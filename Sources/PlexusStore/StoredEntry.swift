import PlexusCore

/// An entry as this node holds it: the verified entry plus where it sits locally.
public struct StoredEntry: Sendable, Equatable {
    /// The verified entry.
    public let entry: SignedEntry
    /// Local receive order; pass it as `since` or `before` to page.
    public let cursor: Int64
    /// False while a predecessor in the author's feed is missing here.
    public let linked: Bool
    /// When this node stored it (ms since the epoch, local clock).
    public let receivedMs: Int64
    /// How it came here.
    public let arrival: Arrival

    public init(entry: SignedEntry, cursor: Int64, linked: Bool, receivedMs: Int64, arrival: Arrival) {
        self.entry = entry
        self.cursor = cursor
        self.linked = linked
        self.receivedMs = receivedMs
        self.arrival = arrival
    }


    /// The JSON form for interfaces.
    public var view: EntryView { EntryView(entry, cursor: cursor, linked: linked, receivedMs: receivedMs) }
}
