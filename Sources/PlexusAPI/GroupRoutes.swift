import Foundation
import Hummingbird
import PlexusCore
import PlexusNode

/// Private groups: the roster (create, members, roles, rekey, leave) and the group's
/// sealed entries (publish, read).
struct GroupRoutes: APIRouteCollection {
    let service: LocalNodeService
    var node: Node { service.node }

    func register(on router: Router<APIRequestContext>) {
        router.get("/v1/groups") { _, _ in
            EnvelopeResponse.success(try await service.groups())
        }
        router.post("/v1/groups") { request, _ in
            let body: GroupCreateRequest = try await TaskRoutes.decode(request, limit: 16 * 1024, keys: ["name"])
            return EnvelopeResponse.success(try await service.createGroup(body), status: .created)
        }
        router.get("/v1/groups/{group}") { _, context in
            EnvelopeResponse.success(try await service.group(context.pathParameter("group")))
        }
        router.post("/v1/groups/{group}/members") { request, context in
            let body: GroupMemberRequest = try await TaskRoutes.decode(request, limit: 16 * 1024, keys: ["agent", "role"])
            return EnvelopeResponse.success(try await service.addMember(group: context.pathParameter("group"), body))
        }
        router.delete("/v1/groups/{group}/members/{agent}") { _, context in
            let agent = try AgentID.parse(context.pathParameter("agent"))
            return EnvelopeResponse.success(try await service.removeMember(group: context.pathParameter("group"), agent: agent))
        }
        router.put("/v1/groups/{group}/members/{agent}/role") { request, context in
            let agent = try AgentID.parse(context.pathParameter("agent"))
            let body: GroupRoleRequest = try await TaskRoutes.decode(request, limit: 16 * 1024, keys: ["role"])
            return EnvelopeResponse.success(
                try await service.setRole(group: context.pathParameter("group"), agent: agent, role: body.role))
        }
        router.post("/v1/groups/{group}/rekey") { _, context in
            EnvelopeResponse.success(try await service.rekey(group: context.pathParameter("group")))
        }
        router.post("/v1/groups/{group}/leave") { _, context in
            EnvelopeResponse.success(try await service.leave(group: context.pathParameter("group")))
        }
        router.post("/v1/groups/{group}/entries") { request, context in
            try JSONBody.requireJSONContentType(request)
            let json = try await JSONBody.read(request, limit: node.config.limits.maxBodyBytes * 2 + 16 * 1024)
            if case .object(let fields) = json, fields["topic"] != nil {
                throw PlexusError(.invalidArgument, "unknown field 'topic': a group entry takes the group's topic")
            }
            let body = try PublishRequest(json: json)
            return EnvelopeResponse.success(try await service.publish(group: context.pathParameter("group"), body), status: .created)
        }
        router.get("/v1/groups/{group}/entries") { request, context in
            let reader = QueryReader(request)
            let feed = FeedRequest(
                author: try reader.agentID("author"), type: reader.string("type"), tag: reader.string("tag"),
                ref: try reader.entryID("ref"), since: try reader.cursor("since"), before: try reader.cursor("before"),
                limit: try reader.int("limit"), waitMs: try reader.int("wait_ms"))
            return EnvelopeResponse.success(try await service.groupFeed(group: context.pathParameter("group"), feed))
        }
    }
}
