import Hummingbird
import PlexusCore
import PlexusNode

/// Topics, follows and anti-entropy status.
struct ReplicationRoutes: APIRouteCollection {
    let service: LocalNodeService

    func register(on router: Router<APIRequestContext>) {
        router.get("/v1/topics") { _, _ in EnvelopeResponse.success(try await service.topics()) }
        router.post("/v1/topics") { request, _ in
            EnvelopeResponse.success(try await service.subscribe(try await Self.field("topic", of: request)))
        }
        router.delete("/v1/topics/{topic}") { _, context in
            EnvelopeResponse.success(try await service.unsubscribe(context.pathParameter("topic")))
        }
        router.get("/v1/follows") { _, _ in EnvelopeResponse.success(try await service.follows()) }
        router.post("/v1/follows") { request, _ in
            EnvelopeResponse.success(try await service.follow(try AgentID.parse(try await Self.field("author", of: request))))
        }
        router.delete("/v1/follows/{author}") { _, context in
            EnvelopeResponse.success(try await service.unfollow(try AgentID.parse(context.pathParameter("author"))))
        }
        router.get("/v1/sync") { _, _ in EnvelopeResponse.success(try await service.sync()) }
    }

    /// The one string field of a small JSON body such as `{"topic": "research"}`.
    private static func field(_ name: String, of request: Request) async throws -> String {
        try JSONBody.requireJSONContentType(request)
        let json = try await JSONBody.read(request, limit: 4096)
        guard case .object(let fields) = json, fields.count == 1, case .string(let value)? = fields[name] else {
            throw PlexusError(.invalidArgument, "the body must be {\"\(name)\": \"...\"}")
        }
        return value
    }
}
