import Foundation
import Hummingbird
import PlexusCore
import PlexusNode

/// Retention policies and the sweep.
struct RetentionRoutes: APIRouteCollection {
    let service: LocalNodeService

    func register(on router: Router<APIRequestContext>) {
        router.get("/v1/retention/policies") { _, _ in
            EnvelopeResponse.success(try await service.retentionPolicies())
        }
        router.post("/v1/retention/policies") { request, _ in
            let body: RetentionPolicyRequest = try await TaskRoutes.decode(
                request, limit: 16 * 1024, keys: ["topic", "author", "max_age_s", "max_count", "compact_key"])
            return EnvelopeResponse.success(try await service.addRetentionPolicy(body), status: .created)
        }
        router.delete("/v1/retention/policies/{id}") { _, context in
            EnvelopeResponse.success(try await service.removeRetentionPolicy(context.pathParameter("id")))
        }
        router.post("/v1/retention/run") { _, _ in
            EnvelopeResponse.success(try await service.runRetention())
        }
    }
}
