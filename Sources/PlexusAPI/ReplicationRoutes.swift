import Hummingbird
import PlexusCore
import PlexusNode

/// Topics, follows and anti-entropy status.
struct ReplicationRoutes {
    let node: Node

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v1/topics") { _, _ in EnvelopeResponse.success(try await node.topics()) }
        router.post("/v1/topics") { request, _ in
            let topic = try await Self.field("topic", of: request)
            try await node.subscribe(topic)
            return EnvelopeResponse.success(try await node.topics())
        }
        router.delete("/v1/topics/{topic}") { _, context in
            let topic = context.parameters.get("topic") ?? ""
            guard try await node.unsubscribe(topic) else {
                throw PlexusError(.notFound, "this node is not subscribed to '\(topic)'")
            }
            return EnvelopeResponse.success(try await node.topics())
        }
        router.get("/v1/follows") { _, _ in EnvelopeResponse.success(try await node.follows()) }
        router.post("/v1/follows") { request, _ in
            let author = try AgentID.parse(try await Self.field("author", of: request))
            try await node.follow(author)
            return EnvelopeResponse.success(try await node.follows())
        }
        router.delete("/v1/follows/{author}") { _, context in
            let author = try AgentID.parse(context.parameters.get("author") ?? "")
            guard try await node.unfollow(author) else {
                throw PlexusError(.notFound, "this node does not follow \(author)")
            }
            return EnvelopeResponse.success(try await node.follows())
        }
        router.get("/v1/sync") { _, _ in EnvelopeResponse.success(await node.sync()) }
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
