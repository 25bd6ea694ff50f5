import Foundation
import Hummingbird
import PlexusCore
import PlexusNode

/// Tasks: send one and follow it (caller), and the pull API for local workers in any
/// language (take a task with a lease, report progress, post the result).
struct TaskRoutes: APIRouteCollection {
    let service: LocalNodeService
    var node: Node { service.node }

    func register(on router: Router<APIRequestContext>) {
        router.post("/v1/tasks") { request, _ in
            let body: SendTaskRequest = try await Self.decode(
                request, limit: node.config.limits.maxBodyBytes * 2 + 16 * 1024,
                keys: ["to", "capability", "payload", "timeout_ms", "wait_ms", "require"])
            return EnvelopeResponse.success(try await service.sendTask(body), status: .created)
        }
        router.get("/v1/tasks") { request, _ in
            let reader = QueryReader(request)
            let role = try reader.string("role").map { text throws(PlexusError) -> TaskView.Role in
                guard let role = TaskView.Role(rawValue: text) else {
                    throw PlexusError(.invalidArgument, "role must be caller (sent from here) or worker (received here)")
                }
                return role
            }
            return EnvelopeResponse.success(try await service.tasks(limit: try reader.int("limit", default: 100), role: role ?? .caller))
        }
        router.get("/v1/tasks/next") { request, context in
            let reader = QueryReader(request)
            guard let capability = reader.string("capability") else {
                throw PlexusError(.invalidArgument, "missing query parameter 'capability'")
            }
            let (waitMs, leaseMs) = (try reader.int("wait_ms", default: 0), try reader.int("lease_ms", default: 30_000))
            let task = try await context.longPoll(waitMs: waitMs) {
                try await service.nextTask(capability: capability, waitMs: waitMs, leaseMs: leaseMs)
            }
            return EnvelopeResponse.success(OptionalTask(task: task))
        }
        router.get("/v1/tasks/{id}") { request, context in
            let id = try TaskID.parse(context.pathParameter("id"))
            let reader = QueryReader(request)
            let (waitMs, after) = (try reader.int("wait_ms", default: 0), try reader.cursor("after_ms"))
            return EnvelopeResponse.success(try await context.longPoll(waitMs: waitMs) { try await service.task(id, waitMs: waitMs, changedAfterMs: after) })
        }
        router.post("/v1/tasks/{id}/cancel") { _, context in
            EnvelopeResponse.success(try await service.cancelTask(try TaskID.parse(context.pathParameter("id"))))
        }
        router.post("/v1/tasks/{id}/progress") { request, context in
            let id = try TaskID.parse(context.pathParameter("id"))
            let body: ProgressBody = try await Self.decode(request, limit: 16 * 1024, keys: ["message"])
            return EnvelopeResponse.success(try await service.taskProgress(id, message: body.message))
        }
        router.post("/v1/tasks/{id}/result") { request, context in
            let id = try TaskID.parse(context.pathParameter("id"))
            let body: TaskResultRequest = try await Self.decode(
                request, limit: node.config.limits.maxBodyBytes * 2 + 16 * 1024, keys: ["result", "error"])
            return EnvelopeResponse.success(try await service.finishTask(id, with: body))
        }
    }

    private struct ProgressBody: Decodable {
        let message: String
    }

    /// `data` of `GET /v1/tasks/next`: `{"task": …}`, null when none came in time.
    private struct OptionalTask: Encodable {
        let task: TaskView?

        enum CodingKeys: String, CodingKey { case task }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(task, forKey: .task)
        }
    }

    /// A JSON body with only `keys` at the top level, decoded; `invalidArgument` naming
    /// what is wrong otherwise.
    static func decode<Body: Decodable>(_ request: Request, limit: Int, keys: Set<String>) async throws -> Body {
        try JSONBody.requireJSONContentType(request)
        let json = try await JSONBody.read(request, limit: limit)
        guard let object = json.objectValue else {
            throw PlexusError(.invalidJSON, "the request body must be a JSON object, not \(json.kindName)")
        }
        if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
            throw PlexusError(.invalidArgument, "unknown field '\(unknown)'; allowed: \(keys.sorted().joined(separator: ", "))")
        }
        do {
            return try JSONDecoder().decode(Body.self, from: try JSONEncoder().encode(json))
        } catch let error as DecodingError {
            throw PlexusError(.invalidArgument, "the request body does not fit: \(JSONValue.describe(error))")
        }
    }
}
