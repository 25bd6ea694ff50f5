import Foundation
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
        self.init(entry, searchText: Self.searchText(ofContent: entry.content))
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

    /// The same for content bytes, read with Foundation's JSON parser, which is several
    /// times faster than decoding a `JSONValue` (this runs once per ingested entry).
    /// Content that is not JSON (an encrypted envelope) has no search text.
    public static func searchText(ofContent data: Data) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return "" }
        var strings: [String] = []
        collect(object, into: &strings)
        return strings.joined(separator: "\n")
    }

    private static func collect(_ value: Any, into strings: inout [String]) {
        switch value {
        case let text as String:
            strings.append(text)
        case let array as [Any]:
            for element in array { collect(element, into: &strings) }
        case let object as [String: Any]:
            // Same order as JSONValue.strings(): by key.
            for key in object.keys.sorted() { if let member = object[key] { collect(member, into: &strings) } }
        default:
            break
        }
    }
}
