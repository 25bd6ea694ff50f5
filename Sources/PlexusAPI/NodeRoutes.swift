import Hummingbird
import PlexusCore
import PlexusNode

/// Health, status, identity and the OpenAPI document.
struct NodeRoutes: APIRouteCollection {
    let service: LocalNodeService

    func register(on router: Router<APIRequestContext>) {
        router.get("/v1/health") { _, _ in EnvelopeResponse.success(["status": "ok"]) }
        router.get("/v1/status") { _, _ in EnvelopeResponse.success(try await service.status()) }
        router.get("/v1/identity") { _, _ in EnvelopeResponse.success(try await service.identity()) }
        router.get("/openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.data)))
        }
    }
}
