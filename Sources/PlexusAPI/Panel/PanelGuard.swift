import Foundation
import Hummingbird
import PlexusCore

/// Guards the panel (`/ui/…`): only requests that name this machine as their host (a web
/// page on another name that resolves here — DNS rebinding — is refused), a session cookie
/// on everything but the login link and the static files, and errors shown as pages. Forms
/// are checked for the session's CSRF token where they are read (`PanelForm`).
struct PanelGuard: RouterMiddleware {
    typealias Context = APIRequestContext
    let sessions: PanelSessions
    let renderer: PanelRenderer
    /// The host the API is bound to, accepted besides loopback names.
    let boundHost: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        do {
            try checkHost(request)
            let path = request.uri.path
            if path != "/ui/login" && !path.hasPrefix("/ui/static/") {
                guard let cookie = request.cookies[PanelSessions.cookieName]?.value, let session = sessions.session(cookie) else {
                    throw PlexusError(.unauthorized, "not signed in: run `plexus ui` on this machine for a login link")
                }
                context.panelSession = session
            }
            return try await next(request, context)
        } catch let error as PlexusError {
            return errorPage(error, request: request)
        } catch let error as HTTPError {
            let code: PlexusError.Code =
                switch error.status {
                case .notFound: .notFound
                case .contentTooLarge: .tooLarge
                case .unauthorized: .unauthorized
                default: error.status.code >= 500 ? .internal : .invalidArgument
                }
            return errorPage(PlexusError(code, error.body ?? error.status.reasonPhrase), request: request)
        }
    }

    /// The `Host` must be a loopback name or the bound host.
    private func checkHost(_ request: Request) throws(PlexusError) {
        guard let authority = request.head.authority else {
            throw PlexusError(.forbidden, "the request names no host")
        }
        let host: Substring
        if authority.hasPrefix("[") {
            host = authority.prefix { $0 != "]" }.dropFirst()
        } else {
            host = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        }
        guard HostPort.isLoopbackHost(host) || host == boundHost else {
            throw PlexusError(.forbidden, "host \(authority) is not this node (the panel answers only to its own address)")
        }
    }

    private func errorPage(_ error: PlexusError, request: Request) -> Response {
        let status = error.code.httpStatus
        PanelMetrics.refused(error.code)
        return renderer.page(
            "error",
            PanelPage(
                title: "\(status.code) \(status.reasonPhrase)", section: "", session: nil,
                page: ErrorModel(status: "\(status.code)", code: error.code.rawValue, message: error.message,
                                 signIn: error.code == .unauthorized)),
            status: status)
    }

    struct ErrorModel {
        let status: String
        let code: String
        let message: String
        let signIn: Bool
    }
}
