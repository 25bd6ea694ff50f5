import Foundation
import Hummingbird
import PlexusCore
import PlexusNode

/// Contacts and their trust.
struct ContactRoutes: APIRouteCollection {
    let service: LocalNodeService

    func register(on router: Router<APIRequestContext>) {
        router.get("/v1/contacts") { _, _ in
            EnvelopeResponse.success(try await service.contacts())
        }
        router.post("/v1/contacts") { request, _ in
            let body: ContactRequest = try await TaskRoutes.decode(request, limit: 4 * 1024, keys: ["agent", "name", "trust"])
            return EnvelopeResponse.success(try await service.addContact(body))
        }
        router.delete("/v1/contacts/{agent}") { _, context in
            EnvelopeResponse.success(try await service.removeContact(try AgentID.parse(context.pathParameter("agent"))))
        }
    }
}
