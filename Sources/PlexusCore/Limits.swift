/// Size limits that bound what a node accepts. Every input has one (DESIGN §1.4).
public struct Limits: Sendable, Equatable {
    /// Largest accepted serialised `EntryBody`, in bytes (DESIGN §4 default: 64 KiB).
    public var maxBodyBytes: Int
    /// Largest `type` string, in UTF-8 bytes.
    public var maxTypeBytes: Int
    /// Largest `topic` string, in UTF-8 bytes.
    public var maxTopicBytes: Int
    /// Most tags on one entry.
    public var maxTags: Int
    /// Largest single tag, in UTF-8 bytes.
    public var maxTagBytes: Int
    /// Most refs on one entry.
    public var maxRefs: Int

    public init(
        maxBodyBytes: Int = 64 * 1024,
        maxTypeBytes: Int = 64,
        maxTopicBytes: Int = 256,
        maxTags: Int = 32,
        maxTagBytes: Int = 64,
        maxRefs: Int = 64
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.maxTypeBytes = maxTypeBytes
        self.maxTopicBytes = maxTopicBytes
        self.maxTags = maxTags
        self.maxTagBytes = maxTagBytes
        self.maxRefs = maxRefs
    }

    /// The defaults of DESIGN §4.
    public static let standard = Limits()
}
