import Hummingbird

/// A feature's routes: the only place its paths are written.
protocol APIRouteCollection {
    func register(on router: Router<APIRequestContext>)
}

/// The API's routes as the router holds them once every collection is registered. The
/// middlewares use it to tell "unknown path" (404) from "wrong method" (405), to label
/// metrics by path pattern, and to know which routes are open without the token; the
/// OpenAPI drift test checks the document against it.
struct APIRouteTable: Sendable {
    struct Route: Sendable {
        let method: HTTPRequest.Method
        /// Path pattern, `{name}` for a parameter.
        let path: String
        /// Whether the bearer token is required.
        let authenticated: Bool
        /// The pattern's segments, nil for a parameter: split once, not per request.
        let segments: [Substring?]
        /// How many segments are literal (the most literal match wins).
        let literals: Int

        init(method: HTTPRequest.Method, path: String, authenticated: Bool) {
            self.method = method
            self.path = path
            self.authenticated = authenticated
            segments = path.split(separator: "/").map { $0.hasPrefix("{") ? nil : $0 }
            literals = segments.count { $0 != nil }
        }

        func matches(_ parts: [Substring]) -> Bool {
            segments.count == parts.count && zip(segments, parts).allSatisfy { segment, part in segment.map { $0 == part } ?? true }
        }
    }

    /// The routes anyone on this machine may call without the token.
    static let open: Set<String> = ["GET /v1/health", "GET /openapi.json"]

    let routes: [Route]
    /// `routes` by segment count: a request path is compared only with patterns as long.
    private let byLength: [Int: [Route]]

    /// The table of `collections`, read off a router they are registered on.
    init(_ collections: [any APIRouteCollection]) {
        let router = Router(context: APIRequestContext.self)
        for collection in collections { collection.register(on: router) }
        routes = router.routes.map { route in
            let path = route.path.description
            return Route(method: route.method, path: path, authenticated: !Self.open.contains("\(route.method) \(path)"))
        }
        byLength = Dictionary(grouping: routes, by: \.segments.count)
    }

    /// The routes whose pattern has the shape of `parts`.
    private func candidates(_ parts: [Substring]) -> [Route] {
        (byLength[parts.count] ?? []).filter { $0.matches(parts) }
    }

    /// The methods allowed on a concrete request path, empty if no route has that shape.
    func methods(matching requestPath: String) -> [HTTPRequest.Method] {
        let parts = requestPath.split(separator: "/")
        var methods: [HTTPRequest.Method] = []
        for route in candidates(parts) where !methods.contains(route.method) {
            methods.append(route.method)
        }
        return methods
    }

    /// The path pattern a concrete request path matches (`/v1/entries/{id}`), if any; the
    /// most literal one when several do (`/v1/tasks/next` over `/v1/tasks/{id}`), as the
    /// router chooses.
    func pattern(matching requestPath: String) -> String? {
        candidates(requestPath.split(separator: "/")).max { $0.literals < $1.literals }?.path
    }

    /// Whether a request needs the token. Unknown paths do, so probing without a token
    /// learns nothing.
    func requiresToken(_ request: Request) -> Bool {
        let parts = request.uri.path.split(separator: "/")
        return !candidates(parts).contains { !$0.authenticated && $0.method == request.method }
    }
}

extension RequestContext {
    /// A path parameter with its percent-escapes decoded (`""` when absent).
    func pathParameter(_ name: String) -> String {
        let raw = parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }
}
