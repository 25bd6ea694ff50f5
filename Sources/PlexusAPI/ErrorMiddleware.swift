import Hummingbird
import Logging
import Metrics
import PlexusCore

/// Turns every error into the JSON error envelope with a specific code, so no client
/// mistake becomes a 5xx and no stack trace leaks. Unknown paths are `notFound`; a known
/// path with the wrong method is `methodNotAllowed` with an `Allow` header.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: APIRouteTable
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as PlexusError {
            Self.count(error.code)
            if error.code.httpStatus.code >= 500 {
                logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            }
            return EnvelopeResponse.failure(error)
        } catch let error as HTTPError {
            let (failure, headers) = translate(error, request: request)
            Self.count(failure.code)
            return EnvelopeResponse.failure(failure, extraHeaders: headers)
        } catch {
            logger.error("unexpected error", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            Self.count(.internal)
            return EnvelopeResponse.failure(PlexusError(.internal, "internal error"))
        }
    }

    /// `plexus_api_errors_total{code}`.
    private static func count(_ code: PlexusError.Code) {
        Metrics.Counter(label: "plexus_api_errors_total", dimensions: [("code", code.rawValue)]).increment()
    }

    private func translate(_ error: HTTPError, request: Request) -> (PlexusError, HTTPFields) {
        switch error.status {
        case .notFound:
            let allowed = routes.methods(matching: request.uri.path)
            if !allowed.isEmpty {
                return (
                    PlexusError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path); use \(allowed.map(\.rawValue).joined(separator: ", "))"),
                    [.allow: allowed.map(\.rawValue).joined(separator: ", ")])
            }
            return (PlexusError(.notFound, "no route \(request.method) \(request.uri.path)"), [:])
        case .contentTooLarge:
            return (PlexusError(.tooLarge, "request body is too large"), [:])
        case .unauthorized:
            return (PlexusError(.unauthorized, error.body ?? "unauthorized"), [:])
        default:
            let code: PlexusError.Code = error.status.code >= 500 ? .internal : .invalidArgument
            return (PlexusError(code, error.body ?? error.status.reasonPhrase), [:])
        }
    }
}
