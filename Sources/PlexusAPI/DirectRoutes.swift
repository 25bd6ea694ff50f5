import Foundation
import Hummingbird
import PlexusCore
import PlexusNode

/// Direct messages: send, list, read, conversations (the event stream is in `EventRoutes`).
struct DirectRoutes: APIRouteCollection {
    let service: LocalNodeService
    var node: Node { service.node }

    func register(on router: Router<APIRequestContext>) {
        router.post("/v1/dms") { request, context in
            let body: DirectSendRequest = try await TaskRoutes.decode(
                request, limit: DirectEnvelope.maxContentBytes * 2 + 4096, keys: ["to", "content", "wait_ms"])
            return EnvelopeResponse.success(try await context.longPoll(waitMs: body.waitMs) { try await service.sendDirect(body) }, status: .created)
        }
        router.get("/v1/dms") { request, context in
            let reader = QueryReader(request)
            let quarantined: Bool
            switch reader.string("quarantined") {
            case nil, "false": quarantined = false
            case "true": quarantined = true
            default: throw PlexusError(.invalidArgument, "quarantined must be true or false")
            }
            let list = DirectListRequest(
                with: try reader.agentID("with"), quarantined: quarantined, since: try reader.cursor("since"),
                before: try reader.cursor("before"), limit: try reader.int("limit"), waitMs: try reader.int("wait_ms"))
            return EnvelopeResponse.success(try await context.longPoll(waitMs: list.waitMs) { try await service.directMessages(list) })
        }
        router.get("/v1/dms/conversations") { _, _ in
            EnvelopeResponse.success(try await service.conversations())
        }
        router.get("/v1/dms/{id}") { _, context in
            EnvelopeResponse.success(try await service.directMessage(try DirectID.parse(context.pathParameter("id"))))
        }
        router.post("/v1/dms/{id}/read") { _, context in
            EnvelopeResponse.success(try await service.markDirectRead(try DirectID.parse(context.pathParameter("id"))))
        }
    }
}
