import Hummingbird
import PlexusCore
import PlexusNode

/// The agent directory: who has announced itself, with what capabilities, and presence.
struct DirectoryRoutes: APIRouteCollection {
    let service: LocalNodeService

    func register(on router: Router<APIRequestContext>) {
        router.get("/v1/agents") { request, _ in
            let reader = QueryReader(request)
            let query = AgentQuery(capability: reader.string("capability"), user: reader.string("user"), label: reader.string("label"))
            return EnvelopeResponse.success(try await service.agents(query))
        }
        router.get("/v1/agents/{id}") { _, context in
            EnvelopeResponse.success(try await service.agent(try AgentID.parse(context.pathParameter("id"))))
        }
    }
}
