/// The bounds of a market offer and purchase (PROTOCOL.md §14.6), shared by the entries'
/// decoding and the API's requests.
public enum MarketLimits {
    public static let maxTitleBytes = 200
    public static let maxDescriptionBytes = 4096
    public static let maxTags = 16
    public static let maxTagBytes = 64
    public static let maxNameBytes = 255
    public static let maxMediaTypeBytes = 255
    /// Most bytes of goods an offer carries inline (base64 in the sealed entry, within the
    /// 64 KiB body limit).
    public static let maxGoodsBytes = 40 * 1024
    /// The media type of goods that are a sealed blob: the goods are then the JSON
    /// `{"blob": {"id", "size", "name"?, "media_type"?}}` (PROTOCOL.md §14.6).
    public static let blobGoodsMediaType = "application/vnd.plexus.blob+json"
    /// Longest time a purchase waits for the seller's claim before the buyer may take the
    /// price back: 30 days.
    public static let maxDeadlineMs: Int64 = 30 * 86_400_000
    /// Shortest such time: 1 second.
    public static let minDeadlineMs: Int64 = 1000
}
