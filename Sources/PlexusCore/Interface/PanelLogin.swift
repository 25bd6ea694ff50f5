/// A one-time login link for the web panel (`POST /v1/ui/login`, `plexus ui`): the path to
/// open on the node's API address, valid once and until `expiresMs`.
public struct PanelLogin: Codable, Sendable, Equatable {
    /// `/ui/login?code=…`.
    public var path: String
    /// When the code stops working (ms since the epoch).
    public var expiresMs: Int64

    public init(path: String, expiresMs: Int64) {
        self.path = path
        self.expiresMs = expiresMs
    }

    enum CodingKeys: String, CodingKey {
        case path, expiresMs = "expires_ms"
    }
}
