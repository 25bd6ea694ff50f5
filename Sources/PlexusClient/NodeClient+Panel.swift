import Foundation
import PlexusCore

/// The web panel's login links over HTTP.
extension NodeClient {
    /// A one-time login link for the panel, valid for `ttlMs` (the node's default when nil).
    public func panelLogin(ttlMs: Int? = nil) async throws(PlexusError) -> PanelLogin {
        try await send(.POST, "/v1/ui/login", body: PanelLoginRequest(ttlMs: ttlMs))
    }

    /// The full address of a login link on this client's node.
    public func panelURL(_ login: PanelLogin) -> String {
        baseURL + login.path
    }

    private struct PanelLoginRequest: Encodable {
        let ttlMs: Int?

        enum CodingKeys: String, CodingKey { case ttlMs = "ttl_ms" }
    }
}
