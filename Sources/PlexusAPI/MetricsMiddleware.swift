import Hummingbird
import Metrics

/// `plexus_api_requests_total{route,method,status}` and
/// `plexus_api_request_duration_seconds{route,method}`: outermost, so it sees the final status.
/// Routes are the API's path patterns, so the label set stays bounded.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: APIRouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let path = request.uri.path
        let route = routes.pattern(matching: path) ?? (PanelRoutes.owns(path) ? "/ui" : "unmatched")
        let method = request.method.rawValue
        let elapsed = (ContinuousClock.now - start).components
        Metrics.Timer(label: "plexus_api_request_duration_seconds", dimensions: [("route", route), ("method", method)])
            .recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
        Metrics.Counter(label: "plexus_api_requests_total", dimensions: [("route", route), ("method", method), ("status", "\(response.status.code)")])
            .increment()
        return response
    }
}
