import Hummingbird

/// Every route of the HTTP API. The router is built from this list, so the list is also
/// what tells "unknown path" (404) from "wrong method" (405) and what the OpenAPI
/// document is checked against.
struct APIRoute: Sendable {
    let method: HTTPRequest.Method
    /// Hummingbird path pattern, `{name}` for a parameter.
    let path: String
    /// Whether the bearer token is required.
    let authenticated: Bool

    static let all: [APIRoute] = [
        APIRoute(method: .get, path: "/v1/health", authenticated: false),
        APIRoute(method: .get, path: "/v1/status", authenticated: true),
        APIRoute(method: .get, path: "/v1/identity", authenticated: true),
        APIRoute(method: .post, path: "/v1/publish", authenticated: true),
        APIRoute(method: .get, path: "/v1/feed", authenticated: true),
        APIRoute(method: .get, path: "/v1/entries/{id}", authenticated: true),
        APIRoute(method: .get, path: "/v1/entries/{id}/thread", authenticated: true),
        APIRoute(method: .get, path: "/v1/search", authenticated: true),
        APIRoute(method: .post, path: "/v1/entries", authenticated: true),
        APIRoute(method: .get, path: "/v1/forks", authenticated: true),
        APIRoute(method: .get, path: "/v1/peers", authenticated: true),
        APIRoute(method: .post, path: "/v1/peers", authenticated: true),
        APIRoute(method: .delete, path: "/v1/peers/{peer}", authenticated: true),
        APIRoute(method: .get, path: "/v1/topics", authenticated: true),
        APIRoute(method: .post, path: "/v1/topics", authenticated: true),
        APIRoute(method: .delete, path: "/v1/topics/{topic}", authenticated: true),
        APIRoute(method: .get, path: "/v1/follows", authenticated: true),
        APIRoute(method: .post, path: "/v1/follows", authenticated: true),
        APIRoute(method: .delete, path: "/v1/follows/{author}", authenticated: true),
        APIRoute(method: .get, path: "/v1/sync", authenticated: true),
        APIRoute(method: .get, path: "/v1/events", authenticated: true),
        APIRoute(method: .get, path: "/v1/agents", authenticated: true),
        APIRoute(method: .get, path: "/v1/agents/{id}", authenticated: true),
        APIRoute(method: .post, path: "/v1/tasks", authenticated: true),
        APIRoute(method: .get, path: "/v1/tasks", authenticated: true),
        APIRoute(method: .get, path: "/v1/tasks/next", authenticated: true),
        APIRoute(method: .get, path: "/v1/tasks/{id}", authenticated: true),
        APIRoute(method: .post, path: "/v1/tasks/{id}/cancel", authenticated: true),
        APIRoute(method: .post, path: "/v1/tasks/{id}/progress", authenticated: true),
        APIRoute(method: .post, path: "/v1/tasks/{id}/result", authenticated: true),
        APIRoute(method: .post, path: "/mcp", authenticated: true),
        APIRoute(method: .get, path: "/mcp", authenticated: true),
        APIRoute(method: .delete, path: "/mcp", authenticated: true),
        APIRoute(method: .get, path: "/metrics", authenticated: true),
        APIRoute(method: .get, path: "/openapi.json", authenticated: false),
    ]

    /// The methods allowed on a concrete request path, empty if no route has that shape.
    static func methods(matching requestPath: String) -> [HTTPRequest.Method] {
        let parts = requestPath.split(separator: "/")
        return all.filter { $0.matches(parts) }.map(\.method)
    }

    /// The path pattern a concrete request path matches (`/v1/entries/{id}`), if any.
    static func pattern(matching requestPath: String) -> String? {
        let parts = requestPath.split(separator: "/")
        return all.first { $0.matches(parts) }?.path
    }

    /// Whether a request needs the token. Unknown paths do, so probing without a token
    /// learns nothing.
    static func requiresToken(_ request: Request) -> Bool {
        let parts = request.uri.path.split(separator: "/")
        return !all.contains { !$0.authenticated && $0.method == request.method && $0.matches(parts) }
    }

    private func matches(_ parts: [Substring]) -> Bool {
        let pattern = path.split(separator: "/")
        return pattern.count == parts.count && zip(pattern, parts).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
    }
}

extension RequestContext {
    /// A path parameter with its percent-escapes decoded (`""` when absent).
    func pathParameter(_ name: String) -> String {
        let raw = parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }
}
