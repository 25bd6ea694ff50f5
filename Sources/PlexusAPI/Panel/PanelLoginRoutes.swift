import Foundation
import Hummingbird
import PlexusCore

/// `POST /v1/ui/login` (token required): a one-time login link for the web panel, what
/// `plexus ui` prints. The link carries a short-lived code, never the token.
struct PanelLoginRoutes: APIRouteCollection {
    let sessions: PanelSessions

    func register(on router: Router<APIRequestContext>) {
        router.post("/v1/ui/login") { request, _ in
            let body: LoginRequest = try await TaskRoutes.decode(request, limit: 1024, keys: ["ttl_ms"])
            let ttlMs = body.ttlMs ?? Int(PanelSessions.defaultCodeLifetime.components.seconds * 1000)
            guard PanelSessions.codeLifetimeRange.contains(ttlMs) else {
                throw PlexusError(.invalidContent, "ttl_ms must be between 1000 and 600000")
            }
            let code = sessions.issueCode(lifetime: .milliseconds(ttlMs))
            let expires = Int64(Date().timeIntervalSince1970 * 1000) + Int64(ttlMs)
            return EnvelopeResponse.success(PanelLogin(path: "/ui/login?code=\(code)", expiresMs: expires), status: .created)
        }
    }

    private struct LoginRequest: Decodable {
        let ttlMs: Int?

        enum CodingKeys: String, CodingKey { case ttlMs = "ttl_ms" }
    }
}
