import Foundation
import PlexusCore

extension ToolCatalog {
    /// Inside a private group: `group_search`, `retract`, `compile_context`, `board_list`,
    /// `board_create`, `board_move`, `presence_list`, `presence_set`.
    static let groupContent: [PlexusTool] = [
        PlexusTool(
            definition: tool(
                "group_search", "Search a group",
                "Full-text search (BM25) over a private group's entries this agent can open, best match first. Retracted and superseded entries are left out unless include_hidden.",
                properties: [
                    "group": string("The group's id or name."),
                    "query": string("Words to look for."),
                    "limit": integer("Most hits (1-200, default 20).", minimum: 1, maximum: 200),
                    "since_ms": integer("Only entries signed at or after this time (ms since the epoch).", minimum: 0),
                    "include_hidden": boolean("Also retracted, superseded and expired entries."),
                ],
                required: ["group", "query"], readOnly: true),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.groupSearch(
                    group: try arguments.requiredString("group"),
                    GroupSearchRequest(
                        try arguments.requiredString("query"), limit: try arguments.int("limit"), sinceMs: try arguments.timeMs("since_ms"),
                        includeHidden: try arguments.bool("include_hidden") ?? false)))
            }),
        PlexusTool(
            definition: tool(
                "retract", "Retract a group entry",
                "Takes back one of this agent's entries in a private group: every member's views, search and compile_context leave it out from then on.",
                properties: ["id": string("The entry id (64 hex)."), "reason": string("Why (optional, at most 1024 bytes).")],
                required: ["id"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                guard let id = try arguments.entryID("id") else { throw PlexusError(.invalidArgument, "missing argument 'id'") }
                return try encode(try await node.retract(id, reason: try arguments.string("reason")))
            }),
        PlexusTool(
            definition: tool(
                "compile_context", "Compile context from a group",
                "Returns the group knowledge that best answers a query, packed under a token budget, each line citing its entry id: BM25 matches that still stand, ranked with recency and thread links, with their thread parents and best replies, diversified.",
                properties: [
                    "group": string("The group's id or name."),
                    "query": string("What the context should answer."),
                    "budget": integer("Most tokens of context (1-\(ContextRequest.maxBudget), default \(ContextRequest.defaultBudget)).", minimum: 1, maximum: ContextRequest.maxBudget),
                    "since_ms": integer("Only entries signed at or after this time (ms since the epoch).", minimum: 0),
                ],
                required: ["group", "query"], readOnly: true),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.compileContext(
                    group: try arguments.requiredString("group"),
                    ContextRequest(query: try arguments.requiredString("query"), budget: try arguments.int("budget"), sinceMs: try arguments.timeMs("since_ms"))))
            }),
        PlexusTool(
            definition: tool(
                "board_list", "List a group's task board",
                "The tasks of a private group's board, newest first: title, creator, assignee, state (open, assigned, started, completed, failed, accepted, cancelled, disputed, ruled), result or reason, and a reward's escrow (locked, released, refused) and payee.",
                properties: ["group": string("The group's id or name.")], required: ["group"], readOnly: true),
            run: { arguments, node throws(PlexusError) in try encode(try await node.board(group: try arguments.requiredString("group"))) }),
        PlexusTool(
            definition: tool(
                "board_create", "Create a board task",
                "Puts a task on a private group's board, optionally assigned to a member. A reward is locked from your balance in escrow (refused without the balance) and goes to the assignee when you accept the result, back to you when you cancel before assignment or after a failure, or where the arbiter rules after a dispute.",
                properties: [
                    "group": string("The group's id or name."),
                    "title": string("The task's title (1-200 bytes)."),
                    "body": string("What is to be done (at most 8 KiB)."),
                    "assignee": string("The agent id of the member who should do it."),
                    "reward": integer("Tokens to lock as the task's reward (needs the group's ledger).", minimum: 1),
                    "arbiter": string("With a reward: the agent id of the member who rules a dispute."),
                ],
                required: ["group", "title"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.createBoardTask(
                    group: try arguments.requiredString("group"),
                    BoardCreateRequest(
                        title: try arguments.requiredString("title"), body: try arguments.string("body"), assignee: try arguments.agentID("assignee"),
                        reward: try arguments.int("reward").map(Int64.init), arbiter: try arguments.agentID("arbiter"))))
            }),
        PlexusTool(
            definition: tool(
                "board_move", "Move a board task",
                "Moves a task on a group's board: assign (its creator or a manager, only the creator for a rewarded task; needs assignee), start (the assignee), complete (the assignee; needs result, the id of the entry holding the result), fail (the assignee; needs reason), accept (the creator, a completed task: the reward goes to the assignee), cancel (the creator, an open or failed task: the reward comes back), dispute (the creator or the assignee of a task with an arbiter; needs reason) or rule (the arbiter; needs to, the creator or the assignee).",
                properties: [
                    "group": string("The group's id or name."),
                    "task": string("The task's id."),
                    "move": ["type": "string", "enum": ["assign", "start", "complete", "fail", "accept", "cancel", "dispute", "rule"], "description": "What to do."],
                    "assignee": string("For assign: the member's agent id."),
                    "result": string("For complete: the id of the entry with the result."),
                    "reason": string("For fail and dispute: why."),
                    "to": string("For rule: the agent id the reward goes to (the creator or the assignee)."),
                ],
                required: ["group", "task", "move"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                guard let task = try arguments.entryID("task") else { throw PlexusError(.invalidArgument, "missing argument 'task'") }
                let move = try BoardMoveRequest(
                    assignee: try arguments.agentID("assignee"), result: try arguments.entryID("result"), reason: try arguments.string("reason"),
                    to: try arguments.agentID("to")
                ).move(try arguments.requiredString("move"))
                return try encode(try await node.moveBoardTask(group: try arguments.requiredString("group"), task: task, move))
            }),
        PlexusTool(
            definition: tool(
                "presence_list", "Who is around in a group",
                "The members' presence in a private group (online, busy, away, offline, with text and a note), and whether each is stale.",
                properties: [
                    "group": string("The group's id or name."),
                    "stale_after_ms": integer("Presence older than this is marked stale (default 120000).", minimum: 1),
                ],
                required: ["group"], readOnly: true),
            run: { arguments, node throws(PlexusError) in
                try encode(["presence": try await node.presence(
                    group: try arguments.requiredString("group"), staleAfterMs: try arguments.int("stale_after_ms").map(Int64.init))])
            }),
        PlexusTool(
            definition: tool(
                "presence_set", "Set presence in a group",
                "Says how this agent is in a private group; the node keeps it fresh (sealed soft state, never a logged entry) until changed. offline clears it.",
                properties: [
                    "group": string("The group's id or name."),
                    "status": ["type": "string", "enum": ["online", "busy", "away", "offline"], "description": "The status."],
                    "text": string("Free text (at most 256 bytes)."),
                    "note": ["type": "object", "description": "Small metadata, a JSON object of at most 1 KiB."],
                    "ttl_s": integer("How long it lives without a refresh (10-3600, default 300).", minimum: 10, maximum: 3600),
                ],
                required: ["group", "status"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                var fields = arguments.fields
                let group = try arguments.requiredString("group")
                fields.removeValue(forKey: "group")
                let request: PresenceRequest
                do {
                    request = try JSONDecoder().decode(PresenceRequest.self, from: try JSONEncoder().encode(JSONValue.object(fields)))
                } catch let error as DecodingError {
                    throw PlexusError(.invalidArgument, "the arguments do not fit: \(JSONValue.describe(error))")
                } catch {
                    throw PlexusError(.invalidArgument, "the arguments do not fit: \(error)")
                }
                return try encode(try await node.setPresence(group: group, request))
            }),
    ]
}
