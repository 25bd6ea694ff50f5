/// How many items one list call (`limit`) may return, for every interface; declared here only.
public enum PageLimit {
    public static let range = 1...1000

    /// `limit` if it is in range, else `invalidArgument`.
    @discardableResult
    public static func check(_ limit: Int) throws(PlexusError) -> Int {
        guard range.contains(limit) else {
            throw PlexusError(.invalidArgument, "limit must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return limit
    }
}
