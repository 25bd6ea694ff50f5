import PlexusCore

/// A verified entry with its search text already extracted, ready for the writer.
///
/// Extraction (parsing the JSON content) is done when this value is made, on the caller's
/// task, so it runs in parallel across cores instead of inside the single writer.
public struct IndexedEntry: Sendable {
    public let entry: SignedEntry
    /// The string values of the content, newline-separated; empty for non-JSON content.
    public let searchText: String

    /// Extracts the search text from the entry's content.
    public init(_ entry: SignedEntry) {
        self.init(entry, content: entry.contentJSON)
    }

    /// Uses already-parsed content (a local publish has it at hand).
    public init(_ entry: SignedEntry, content: JSONValue?) {
        self.init(entry, searchText: Self.searchText(of: content))
    }

    /// Uses search text extracted earlier.
    public init(_ entry: SignedEntry, searchText: String) {
        self.entry = entry
        self.searchText = searchText
    }

    /// What search indexes for a content value: its strings, newline-separated.
    public static func searchText(of content: JSONValue?) -> String {
        content?.strings().joined(separator: "\n") ?? ""
    }
}
