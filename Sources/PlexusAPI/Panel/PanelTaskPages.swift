import Foundation
import Hummingbird
import PlexusCore
import PlexusNode

/// Tasks sent from here: state, progress and timings; send one from a form; cancel. A task's
/// page follows it live while it runs (a long-polling request that the node answers when
/// the task changes, at most every `watchWaitMs`).
struct PanelTaskPages: PanelPageCollection {
    let routes: PanelRoutes
    var service: LocalNodeService { routes.service }
    /// How long one watch request of a task page waits for a change.
    static let watchWaitMs = 25_000
    /// Tasks the list looks at.
    static let listed = 1000

    func register(on ui: RouterGroup<APIRequestContext>) {
        ui.get("/tasks") { request, context in try await tasks(request, context) }
        ui.post("/tasks") { request, context in
            let form = try await PanelForm.read(request, session: context.panelSession)
            let task = try await service.sendTask(try Self.request(from: form))
            return PanelRoutes.seeOther("/ui/tasks/\(task.id)")
        }
        ui.get("/tasks/{id}") { _, context in
            let task = try await service.task(try TaskID.parse(context.pathParameter("id")), waitMs: 0)
            let model = TaskModel(task, nowMs: PanelRoutes.nowMs())
            return routes.render("task", title: "Task \(Show.short(task.id))", section: "/ui/tasks", context, model)
        }
        ui.get("/tasks/{id}/watch") { _, context in
            let task = try await service.task(try TaskID.parse(context.pathParameter("id")), waitMs: Self.watchWaitMs)
            return TaskModel(task, nowMs: PanelRoutes.nowMs()).watchResponse()
        }
        ui.post("/tasks/{id}/cancel") { request, context in
            _ = try await PanelForm.read(request, session: context.panelSession)
            let task = try await service.cancelTask(try TaskID.parse(context.pathParameter("id")))
            return PanelRoutes.seeOther("/ui/tasks/\(task.id)")
        }
    }

    /// The form's task: the payload is JSON when it parses as JSON, else `{"text": …}`.
    static func request(from form: PanelForm) throws(PlexusError) -> SendTaskRequest {
        guard let capability = form.string("capability") else { throw PlexusError(.invalidArgument, "give a capability") }
        let to = try form.string("to").map { text throws(PlexusError) in try AgentID.parse(text) }
        let raw = form.string("payload") ?? ""
        let payload = (try? JSONValue(parsing: Data(raw.utf8))) ?? .object(["text": .string(raw)])
        var timeoutMs: Int?
        if let text = form.string("timeout_s") {
            guard let seconds = Int(text), seconds > 0, seconds <= 86_400 else {
                throw PlexusError(.invalidArgument, "the timeout is a whole number of seconds from 1 to 86400")
            }
            timeoutMs = seconds * 1000
        }
        let request = SendTaskRequest(to: to, capability: capability, payload: payload, timeoutMs: timeoutMs, waitMs: 0)
        _ = try request.validated()
        return request
    }

    private func tasks(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let query = PanelQuery(request)
        let offset = try query.offset()
        let received = query.string("role") == TaskView.Role.worker.rawValue
        let tasks = try await service.tasks(limit: Self.listed, role: received ? .worker : .caller)
        let now = PanelRoutes.nowMs()
        let model = TasksModel(
            received: received,
            tasks: tasks.dropFirst(offset).prefix(PanelRoutes.pageSize).map { TaskModel($0, nowMs: now) },
            pager: Pager(
                path: "/ui/tasks", query: received ? ["role": "worker"] : [:], offset: offset, size: PanelRoutes.pageSize, total: tasks.count),
            capability: query.string("capability") ?? "", to: query.string("to") ?? "")
        return routes.render("tasks", title: "Tasks", section: "/ui/tasks", context, model)
    }

    struct TasksModel {
        /// Listing tasks received for local workers rather than those sent from here.
        let received: Bool
        let tasks: [TaskModel]
        let pager: Pager
        /// Prefilled form fields (from an agent's page).
        let capability: String
        let to: String
    }

    struct TaskModel: Encodable {
        let id: String
        let shortID: String
        let role: String
        let capability: String
        let state: String
        let terminal: Bool
        /// Sent from here and still running: the page offers to cancel it.
        let cancellable: Bool
        let caller: String
        /// `sent from here` or `received here`.
        let direction: String
        let worker: String?
        let message: String?
        let created: String
        let updated: String
        let took: String
        let deadline: String
        let payload: String
        let result: String?
        let error: String?

        init(_ task: TaskView, nowMs: Int64) {
            id = task.id.description
            shortID = Show.short(task.id)
            role = task.role.rawValue
            capability = task.capability
            state = task.state.rawValue
            terminal = task.state.isTerminal
            cancellable = task.role == .caller && !task.state.isTerminal
            caller = task.caller.description
            direction = task.role == .caller ? "sent from here" : "received here"
            worker = task.worker?.description
            message = task.message
            created = Show.time(task.createdMs)
            updated = Show.time(task.updatedMs)
            took = Show.duration(ms: (task.state.isTerminal ? task.updatedMs : nowMs) - task.createdMs)
            deadline = Show.time(task.deadlineMs)
            payload = Show.json(task.payload)
            result = task.result.map { Show.json($0) }
            error = task.error.map { "\($0.code): \($0.message)" }
        }

        /// What the task page's script reads to update itself.
        func watchResponse() -> Response {
            let data = (try? JSONEncoder().encode(self)) ?? Data("{}".utf8)
            var headers = PanelRenderer.securityHeaders
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }
}
