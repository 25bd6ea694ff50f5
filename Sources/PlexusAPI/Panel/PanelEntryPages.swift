import Foundation
import Hummingbird
import PlexusCore
import PlexusNode

/// The feed with its filters in the URL (newest first, paged by cursor, live on the first
/// page), full-text search, an entry's page (thread, refs, signature) and fork proofs.
struct PanelEntryPages: PanelPageCollection {
    let routes: PanelRoutes
    var service: LocalNodeService { routes.service }
    static let filters = ["topic", "author", "type", "tag"]

    func register(on ui: RouterGroup<APIRequestContext>) {
        ui.get("/feed") { request, context in try await feed(request, context) }
        ui.get("/search") { request, context in try await search(request, context) }
        ui.get("/entries/{id}") { _, context in try await entry(try EntryID.parse(context.pathParameter("id")), context) }
        ui.get("/forks") { _, context in try await forks(context) }
    }

    private func feed(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let query = PanelQuery(request)
        let before = try query.string("before").map { text throws(PlexusError) -> Int64 in
            guard let cursor = Int64(text), cursor > 0 else { throw PlexusError(.invalidArgument, "before must be a cursor (a positive whole number)") }
            return cursor
        }
        let me = try await service.identity().agentID
        let page = try await service.feed(
            FeedRequest(
                author: try query.agent("author"), topic: query.string("topic"), type: query.string("type"), tag: query.string("tag"),
                before: before, limit: PanelRoutes.pageSize))
        let values = query.values(Self.filters)
        var streamQuery = values
        streamQuery["since"] = "\(page.entries.first?.cursor ?? 0)"
        let model = FeedModel(
            entries: page.entries.map { EntryRow($0, me: me) },
            filters: Self.filters.map { Filter(name: $0, value: values[$0] ?? "") },
            live: before == nil,
            stream: Pager.url("/ui/events", streamQuery), me: me.description,
            pager: Pager(path: "/ui/feed", query: values, before: page.hasMore ? page.nextCursor : nil, newest: before == nil, shown: page.entries.count))
        return routes.render("feed", title: "Feed", section: "/ui/feed", context, model)
    }

    struct Filter {
        let name: String
        let value: String
    }

    struct FeedModel {
        let entries: [EntryRow]
        let filters: [Filter]
        /// The first page follows new entries as they arrive.
        let live: Bool
        /// The event stream with the same filters.
        let stream: String
        /// This node's agent id, to mark its own entries.
        let me: String
        let pager: Pager
    }

    private func search(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let query = PanelQuery(request)
        let offset = try query.offset()
        let me = try await service.identity().agentID
        var rows: [EntryRow] = []
        var pager: Pager?
        if let text = query.string("q") {
            let results = try await service.search(
                SearchRequest(text, topic: query.string("topic"), limit: PanelRoutes.pageSize + 1, offset: offset)).hits
            rows = results.prefix(PanelRoutes.pageSize).map { EntryRow($0.entry, me: me, rank: $0.rank) }
            pager = Pager(
                path: "/ui/search", query: query.values(["q", "topic"]), offset: offset, size: PanelRoutes.pageSize,
                total: offset + results.count)
        }
        let model = SearchModel(q: query.string("q") ?? "", topic: query.string("topic") ?? "", searched: pager != nil, results: rows, pager: pager)
        return routes.render("search", title: "Search", section: "/ui/feed", context, model)
    }

    struct SearchModel {
        let q: String
        let topic: String
        let searched: Bool
        let results: [EntryRow]
        let pager: Pager?
    }

    private func entry(_ id: EntryID, _ context: APIRequestContext) async throws -> Response {
        let entry = try await service.entry(id)
        let me = try await service.identity().agentID
        let thread = try await service.thread(id, limit: 100)
        let model = EntryModel(entry, me: me, thread: thread.entries.filter { $0.id != entry.id }.map { EntryRow($0, me: me) })
        return routes.render("entry", title: "Entry \(Show.short(entry.id))", section: "/ui/feed", context, model)
    }

    struct EntryModel {
        let id: String
        let author: String
        let mine: Bool
        let seq: String
        let prev: String?
        let time: String
        let received: String
        let topic: String
        let type: String
        let tags: [String]
        let refs: [String]
        let content: String
        let signature: String
        let cursor: String
        let linked: Bool
        let expires: String?
        let group: String?
        let supersededBy: String?
        let retractedBy: String?
        let thread: [EntryRow]

        init(_ entry: EntryView, me: AgentID, thread: [EntryRow]) {
            id = entry.id.description
            author = entry.author.description
            mine = entry.author == me
            seq = "\(entry.seq)"
            prev = entry.prev?.description
            time = Show.time(entry.timeMs)
            received = Show.time(entry.receivedMs)
            topic = entry.topic
            type = entry.type
            tags = entry.tags
            refs = entry.refs.map(\.description)
            if let content = entry.content {
                self.content = Show.json(content)
            } else if let base64 = entry.contentBase64 {
                self.content = "(binary, base64) " + base64
            } else {
                self.content = ""
            }
            signature = entry.signature
            cursor = "\(entry.cursor)"
            linked = entry.linked
            expires = entry.expiresMs.map { Show.time(Int64(clamping: $0)) }
            group = entry.group?.description
            supersededBy = entry.supersededBy?.description
            retractedBy = entry.retractedBy?.description
            self.thread = thread
        }
    }

    private func forks(_ context: APIRequestContext) async throws -> Response {
        let forks = try await service.forks(limit: 100)
        let model = ForksModel(forks: forks.map {
            ForkRow(author: $0.author.description, seq: "\($0.seq)", held: $0.heldID.description, conflicting: $0.conflictingID.description,
                    detected: Show.time($0.detectedMs))
        })
        return routes.render("forks", title: "Forks", section: "/ui/feed", context, model)
    }

    struct ForksModel {
        let forks: [ForkRow]
    }

    struct ForkRow {
        let author: String
        let seq: String
        let held: String
        let conflicting: String
        let detected: String
    }
}
