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
    }

    /// The routes anyone on this machine may call without the token.
    static let open: Set<String> = ["GET /v1/health", "GET /openapi.json"]

    let routes: [Route]

    /// The table of `collections`, read off a router they are registered on.
    init(_ collections: [any APIRouteCollection]) {
        let router = Router(context: APIRequestContext.self)
        for collection in collections { collection.register(on: router) }
        routes = router.routes.map { route in
            let path = route.path.description
            return Route(method: route.method, path: path, authenticated: !Self.open.contains("\(route.method) \(path)"))
        }
    }

    /// The methods allowed on a concrete request path, empty if no route has that shape.
    func methods(matching requestPath: String) -> [HTTPRequest.Method] {
        let parts = requestPath.split(separator: "/")
        var methods: [HTTPRequest.Method] = []
        for route in routes where Self.matches(route.path, parts) && !methods.contains(route.method) {
            methods.append(route.method)
        }
        return methods
    }

    /// The path pattern a concrete request path matches (`/v1/entries/{id}`), if any; the
    /// most literal one when several do (`/v1/tasks/next` over `/v1/tasks/{id}`), as the
    /// router chooses.
    func pattern(matching requestPath: String) -> String? {
        let parts = requestPath.split(separator: "/")
        return routes.filter { Self.matches($0.path, parts) }
            .max { Self.literals($0.path) < Self.literals($1.path) }?.path
    }

    private static func literals(_ path: String) -> Int {
        path.split(separator: "/").filter { !$0.hasPrefix("{") }.count
    }

    /// Whether a request needs the token. Unknown paths do, so probing without a token
    /// learns nothing.
    func requiresToken(_ request: Request) -> Bool {
        let parts = request.uri.path.split(separator: "/")
        return !routes.contains { !$0.authenticated && $0.method == request.method && Self.matches($0.path, parts) }
    }

    private static func matches(_ path: String, _ parts: [Substring]) -> Bool {
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
