import Hummingbird
import Logging
import PlexusCore

/// Turns every error into the JSON error envelope with a specific code, so no client
/// mistake becomes a 5xx and no stack trace leaks. Unknown paths are `notFound`; a known
/// path with the wrong method is `methodNotAllowed` with an `Allow` header.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as PlexusError {
            if error.code.httpStatus.code >= 500 {
                logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            }
            return EnvelopeResponse.failure(error)
        } catch let error as HTTPError {
            return translate(error, request: request)
        } catch {
            logger.error("unexpected error", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return EnvelopeResponse.failure(PlexusError(.internal, "internal error"))
        }
    }

    private func translate(_ error: HTTPError, request: Request) -> Response {
        switch error.status {
        case .notFound:
            let allowed = APIRoute.methods(matching: request.uri.path)
            if !allowed.isEmpty {
                return EnvelopeResponse.failure(
                    PlexusError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path); use \(allowed.map(\.rawValue).joined(separator: ", "))"),
                    extraHeaders: [.allow: allowed.map(\.rawValue).joined(separator: ", ")])
            }
            return EnvelopeResponse.failure(PlexusError(.notFound, "no route \(request.method) \(request.uri.path)"))
        case .contentTooLarge:
            return EnvelopeResponse.failure(PlexusError(.tooLarge, "request body is too large"))
        case .unauthorized:
            return EnvelopeResponse.failure(PlexusError(.unauthorized, error.body ?? "unauthorized"))
        default:
            let code: PlexusError.Code = error.status.code >= 500 ? .internal : .invalidArgument
            return EnvelopeResponse.failure(PlexusError(code, error.body ?? error.status.reasonPhrase))
        }
    }
}
