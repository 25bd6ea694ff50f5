import Crypto
import Hummingbird
import PlexusCore
import PlexusNode

/// Guards the API: the bearer token on every route except the open ones and the web
/// panel's, and no requests
/// from web pages of other origins (a browser on this machine must not be turned against
/// the node). The token comparison takes the same time whatever the input.
struct AccessMiddleware<Context: RequestContext>: RouterMiddleware {
    private let tokenDigest: SHA256.Digest
    private let routes: APIRouteTable

    init(token: String, routes: APIRouteTable) {
        self.tokenDigest = SHA256.hash(data: Array(token.utf8))
        self.routes = routes
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let origin = request.headers[.origin], !Self.isLoopbackOrigin(origin) {
            throw PlexusError(.forbidden, "requests from origin \(origin) are not allowed")
        }
        // The panel signs people in with its own sessions (`PanelGuard`), never the token.
        if !PanelRoutes.owns(request.uri.path), routes.requiresToken(request) {
            guard let header = request.headers[.authorization] else {
                throw PlexusError(.unauthorized, "missing 'Authorization: Bearer <token>' (the token is in api.token in the data directory)")
            }
            let prefix = "Bearer "
            guard header.hasPrefix(prefix), SHA256.hash(data: Array(header.dropFirst(prefix.count).utf8)) == tokenDigest else {
                throw PlexusError(.unauthorized, "wrong API token")
            }
        }
        return try await next(request, context)
    }

    /// `http(s)://` with a loopback host (127.0.0.0/8, `localhost`, `[::1]`), any port.
    static func isLoopbackOrigin(_ origin: String) -> Bool {
        guard let schemeEnd = origin.range(of: "://") else { return false }
        let scheme = origin[..<schemeEnd.lowerBound]
        guard scheme == "http" || scheme == "https" else { return false }
        let authority = origin[schemeEnd.upperBound...]
        if authority.hasPrefix("[") {
            return authority == "[::1]" || authority.hasPrefix("[::1]:")
        }
        let host = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return HostPort.isLoopbackHost(host)
    }
}
