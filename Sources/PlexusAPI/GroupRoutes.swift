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
            let body: GroupCreateRequest = try await TaskRoutes.decode(request, limit: 16 * 1024, keys: ["name", "policy"])
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
            let request = GroupFeedRequest(feed, sinceMs: try reader.timeMs("since_ms"), includeHidden: try reader.bool("include_hidden") ?? false)
            let group = context.pathParameter("group")
            return EnvelopeResponse.success(try await context.longPoll(waitMs: feed.waitMs) { try await service.groupFeed(group: group, request) })
        }
        router.get("/v1/groups/{group}/search") { request, context in
            let reader = QueryReader(request)
            guard let text = reader.string("q") else { throw PlexusError(.invalidArgument, "missing query parameter 'q'") }
            let search = GroupSearchRequest(
                text, limit: try reader.int("limit"), sinceMs: try reader.timeMs("since_ms"),
                includeHidden: try reader.bool("include_hidden") ?? false)
            return EnvelopeResponse.success(try await service.groupSearch(group: context.pathParameter("group"), search))
        }
        router.post("/v1/retract") { request, _ in
            let body: RetractRequest = try await TaskRoutes.decode(request, limit: 16 * 1024, keys: ["id", "reason"])
            return EnvelopeResponse.success(try await service.retract(body.id, reason: body.reason), status: .created)
        }
        router.post("/v1/groups/{group}/context") { request, context in
            let body: ContextRequest = try await TaskRoutes.decode(request, limit: 16 * 1024, keys: ["query", "budget", "since_ms"])
            return EnvelopeResponse.success(try await service.compileContext(group: context.pathParameter("group"), body))
        }
        router.get("/v1/groups/{group}/board") { _, context in
            EnvelopeResponse.success(try await service.board(group: context.pathParameter("group")))
        }
        router.post("/v1/groups/{group}/board") { request, context in
            let body: BoardCreateRequest = try await TaskRoutes.decode(request, limit: 16 * 1024, keys: ["title", "body", "assignee", "reward", "arbiter"])
            return EnvelopeResponse.success(try await service.createBoardTask(group: context.pathParameter("group"), body), status: .created)
        }
        router.post("/v1/groups/{group}/board/{task}/{move}") { request, context in
            let task = try EntryID.parse(context.pathParameter("task"))
            let body: BoardMoveRequest = try await TaskRoutes.decode(request, limit: 16 * 1024, keys: ["assignee", "result", "reason", "to"])
            let group = context.pathParameter("group")
            _ = try await service.group(group)  // an unknown group is 404 whatever the body
            return EnvelopeResponse.success(try await service.moveBoardTask(group: group, task: task, try body.move(context.pathParameter("move"))))
        }
        router.get("/v1/groups/{group}/presence") { request, context in
            let stale = try QueryReader(request).int("stale_after_ms")
            return EnvelopeResponse.success(try await service.presence(group: context.pathParameter("group"), staleAfterMs: stale.map(Int64.init)))
        }
        router.put("/v1/groups/{group}/presence") { request, context in
            let body: PresenceRequest = try await TaskRoutes.decode(request, limit: 16 * 1024, keys: ["status", "text", "note", "ttl_s"])
            return EnvelopeResponse.success(try await service.setPresence(group: context.pathParameter("group"), body))
        }
    }
}
