import Foundation
import Hummingbird
import PlexusCore
import PlexusNode

/// The web panel (DESIGN §10): server-rendered pages under `/ui/` over the same service the
/// API uses, live by server-sent events, signed in by a one-time link (`plexus ui`). Every
/// page works without script; the script adds live updates only. Not part of the JSON API
/// (nor its OpenAPI document): these routes are registered beside it.
struct PanelRoutes {
    let service: LocalNodeService
    let sessions: PanelSessions
    let renderer: PanelRenderer
    let events: EventRoutes
    let metrics: MetricsRoutes
    var node: Node { service.node }

    /// Rows per page of every list.
    static let pageSize = 50

    /// The wall clock in ms since the epoch, for ages and durations on pages.
    static func nowMs() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000)
    }

    /// Whether a request path belongs to the panel.
    static func owns(_ path: String) -> Bool {
        path == "/ui" || path.hasPrefix("/ui/")
    }

    func register(on router: Router<APIRequestContext>) {
        // The router ignores a trailing slash: `/ui` and `/ui/` are the overview.
        let ui = router.group("/ui").add(middleware: PanelGuard(sessions: sessions, renderer: renderer, boundHost: node.config.api.host))
        ui.get("/login") { request, _ in login(request) }
        ui.post("/logout") { request, context in
            _ = try await PanelForm.read(request, session: context.panelSession)
            if let session = context.panelSession { sessions.end(session.id) }
            var response = Response.redirect(to: "/ui/login", type: .found)
            response.headers[.setCookie] = "\(PanelSessions.cookieName)=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0"
            return response
        }
        ui.get("/static/{name}") { _, context in
            guard let response = renderer.asset(context.pathParameter("name")) else {
                throw PlexusError(.notFound, "no such file")
            }
            return response
        }
        ui.get("/events") { request, context in try await events.stream(request, connection: context.channel) }
        ui.get("") { request, context in try await overview(request, context) }
        let pages: [any PanelPageCollection] = [
            PanelPeerPages(routes: self), PanelEntryPages(routes: self), PanelAgentPages(routes: self),
            PanelTaskPages(routes: self), PanelGroupPages(routes: self), PanelStorePages(routes: self),
            PanelMetricsPage(routes: self),
        ]
        for collection in pages { collection.register(on: ui) }
        ui.get("/**") { request, _ -> Response in
            throw PlexusError(.notFound, "no panel page at \(request.uri.path)")
        }
    }

    /// A page in the frame.
    func render<Model>(_ template: String, title: String, section: String, _ context: APIRequestContext, _ model: Model) -> Response {
        renderer.page(template, PanelPage(title: title, section: section, session: context.panelSession, page: model))
    }

    /// After a form: back to a page (303, so a reload does not submit again).
    static func seeOther(_ path: String) -> Response {
        Response.redirect(to: path, type: .normal)
    }

    // MARK: Login

    /// `GET /ui/login?code=…`: a valid, unused, unexpired code becomes a session cookie; the
    /// page then moves on to the overview (a same-site step, so the strict cookie goes along).
    private func login(_ request: Request) -> Response {
        guard let code = request.uri.queryParameters.get("code") else {
            return renderer.page("login", PanelPage(title: "Sign in", section: "", session: nil, page: LoginModel(failed: false)))
        }
        guard let session = sessions.redeem(String(code)) else {
            PanelMetrics.refused(.unauthorized)
            return renderer.page(
                "login", PanelPage(title: "Sign in", section: "", session: nil, page: LoginModel(failed: true)), status: .unauthorized)
        }
        let maxAge = Int(PanelSessions.sessionLifetime.components.seconds)
        return renderer.page(
            "signed-in", PanelPage(title: "Signed in", section: "", session: session, page: LoginModel(failed: false)),
            headers: [.setCookie: "\(PanelSessions.cookieName)=\(session.id); Path=/ui; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)"])
    }

    struct LoginModel {
        let failed: Bool
    }

    // MARK: Overview

    private func overview(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let status = try await service.status()
        let peers = try await service.peers()
        let recent = try await service.feed(FeedRequest(limit: 500))
        let tasks = try await service.tasks(limit: 500)
        let blobs = try await service.blobs(limit: 1, offset: 0)
        let now = Self.nowMs()
        let me = status.agentID
        var warnings: [String] = []
        if status.store.forkedAuthors > 0 {
            warnings.append("\(status.store.forkedAuthors) author(s) signed two different entries at one position (see Forks)")
        }
        if let mesh = status.mesh {
            if mesh.listen == nil { warnings.append("the mesh is not listening: no peer can connect to this node") }
            let refused = mesh.counts.closed.filter { $0.key != "closed_by_peer" && $0.key != "shutdown" && $0.key != "removed" }
            for (reason, count) in refused.sorted(by: { $0.key < $1.key }) {
                warnings.append("\(count) connection(s) refused or dropped: \(reason)")
            }
            if mesh.gossipDropped > 0 { warnings.append("\(mesh.gossipDropped) gossip frame(s) dropped on full peer queues") }
        }
        if blobs.quotaBytes > 0, blobs.usedBytes * 10 >= blobs.quotaBytes * 9 {
            warnings.append("the blob store uses \(Show.bytes(blobs.usedBytes)) of its \(Show.bytes(blobs.quotaBytes)) quota")
        }
        let model = OverviewModel(
            agentID: me.description, version: status.version, uptime: Show.duration(ms: status.uptimeMs),
            dataDirectory: status.dataDirectory, keysEncrypted: status.keysEncrypted,
            entries: "\(status.store.entries)", authors: "\(status.store.authors)", tombstones: "\(status.store.tombstones)",
            latestCursor: "\(status.store.latestCursor)",
            blobs: "\(blobs.count) (\(Show.bytes(blobs.usedBytes)))",
            listen: status.mesh?.listen ?? "not listening",
            connected: "\(peers.filter { $0.state == .connected }.count)", remembered: "\(peers.filter(\.remembered).count)",
            framesIn: "\(status.mesh?.counts.framesIn ?? 0)", framesOut: "\(status.mesh?.counts.framesOut ?? 0)",
            entriesIn: Sparkline(label: "entries in", times: recent.entries.filter { $0.author != me }.map(\.receivedMs), nowMs: now),
            entriesOut: Sparkline(label: "entries out", times: recent.entries.filter { $0.author == me }.map(\.receivedMs), nowMs: now),
            tasksSent: Sparkline(label: "tasks sent", times: tasks.map(\.createdMs), nowMs: now),
            warnings: warnings,
            recent: recent.entries.prefix(10).map { EntryRow($0, me: me) })
        return render("overview", title: "Overview", section: "/ui/", context, model)
    }

    struct OverviewModel {
        let agentID: String
        let version: String
        let uptime: String
        let dataDirectory: String
        let keysEncrypted: Bool
        let entries: String
        let authors: String
        let tombstones: String
        let latestCursor: String
        let blobs: String
        let listen: String
        let connected: String
        let remembered: String
        let framesIn: String
        let framesOut: String
        let entriesIn: Sparkline
        let entriesOut: Sparkline
        let tasksSent: Sparkline
        let warnings: [String]
        let recent: [EntryRow]
    }
}

/// One section's pages.
protocol PanelPageCollection {
    func register(on ui: RouterGroup<APIRequestContext>)
}

/// The query parameters of a panel request.
struct PanelQuery {
    let request: Request

    init(_ request: Request) { self.request = request }

    /// A parameter's text, nil when absent or blank.
    func string(_ name: String) -> String? {
        guard let value = request.uri.queryParameters.get(name)?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    /// A list offset: 0 when absent, refused when not a whole number ≥ 0.
    func offset() throws(PlexusError) -> Int {
        guard let text = string("offset") else { return 0 }
        guard let value = Int(text), value >= 0, value <= 1_000_000 else {
            throw PlexusError(.invalidArgument, "offset must be a whole number from 0 to 1000000")
        }
        return value
    }

    /// An agent id parameter, refused when malformed.
    func agent(_ name: String) throws(PlexusError) -> AgentID? {
        guard let text = string(name) else { return nil }
        return try AgentID.parse(text)
    }

    /// The parameters given, for links that keep them.
    func values(_ names: [String]) -> [String: String] {
        var values: [String: String] = [:]
        for name in names { values[name] = string(name) }
        return values
    }
}
