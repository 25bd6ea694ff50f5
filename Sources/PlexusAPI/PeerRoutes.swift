import Hummingbird
import PlexusCore
import PlexusNode

/// Mesh peers: list, connect and remove.
struct PeerRoutes: APIRouteCollection {
    let service: LocalNodeService

    func register(on router: Router<APIRequestContext>) {
        router.get("/v1/peers") { _, _ in EnvelopeResponse.success(try await service.peers()) }
        router.delete("/v1/peers/{peer}") { _, context in
            EnvelopeResponse.success(try await service.removePeer(context.pathParameter("peer")))
        }
        router.post("/v1/peers") { request, _ in
            try JSONBody.requireJSONContentType(request)
            let json = try await JSONBody.read(request, limit: 4096)
            guard case .object(let fields) = json, case .string(let address)? = fields["address"],
                  Set(fields.keys).isSubset(of: ["address", "id"])
            else {
                throw PlexusError(.invalidArgument, "the body must be {\"address\": \"host:port\", \"id\"?: \"<agent id>\"}")
            }
            var expected: AgentID?
            if let id = fields["id"] {
                guard case .string(let text) = id else { throw PlexusError(.invalidArgument, "'id' must be an agent id string") }
                expected = try AgentID.parse(text)
            }
            let peer = try await service.connect(ConnectRequest(address: address, id: expected))
            return EnvelopeResponse.success(peer, status: .created)
        }
    }
}
