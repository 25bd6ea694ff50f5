/// Topic names: the unit of routing and replication (DESIGN §6).
public enum TopicName {
    /// The topic every node is in. Entries with an empty topic replicate in it.
    public static let mesh = "mesh"
    /// Longest topic name, in UTF-8 bytes.
    public static let maxBytes = 128

    /// The topic an entry replicates in: its own, or `mesh` when it names none.
    public static func replication(of topic: String) -> String {
        topic.isEmpty ? mesh : topic
    }

    /// Checks a name given to subscribe to: 1–128 bytes of UTF-8 without control characters
    /// (`tooLarge` beyond 128 bytes: a limit in bytes, which a schema's length in characters
    /// cannot state exactly).
    public static func validated(_ name: String) throws(PlexusError) -> String {
        guard !name.isEmpty else { throw PlexusError(.invalidArgument, "a topic name is not empty") }
        guard name.utf8.count <= maxBytes else {
            throw PlexusError(.tooLarge, "a topic name is at most \(maxBytes) bytes of UTF-8")
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw PlexusError(.invalidArgument, "a topic name has no control characters")
        }
        return name
    }
}
