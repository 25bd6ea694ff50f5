import Hummingbird
import PlexusCore
import PlexusNode

/// Health, status, identity and the OpenAPI document.
struct NodeRoutes {
    let node: Node

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v1/health") { _, _ in EnvelopeResponse.success(["status": "ok"]) }
        router.get("/v1/status") { _, _ in EnvelopeResponse.success(try await node.status()) }
        router.get("/v1/identity") { _, _ in
            EnvelopeResponse.success(IdentityView(agentID: node.id, keysEncrypted: node.keysEncrypted))
        }
        router.get("/openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.data)))
        }
    }
}
