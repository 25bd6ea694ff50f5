import Foundation
import MCP
import PlexusCore

/// One MCP tool: what a model reads about it, and how a call runs against a node.
struct PlexusTool: Sendable {
    let definition: Tool
    /// Runs the call; the result is a JSON object (compact UTF-8).
    let run: @Sendable (ToolArguments, any NodeService) async throws(PlexusError) -> Data

    /// The argument names the input schema declares.
    var argumentNames: Set<String> {
        Set(definition.inputSchema.objectValue?["properties"]?.objectValue?.keys.map { $0 } ?? [])
    }
}

/// The tools Plexus offers over MCP. Results are the same JSON objects the HTTP API returns
/// under `data` (lists wrapped in an object, as MCP's structured content must be an object).
enum ToolCatalog {
    static let all: [PlexusTool] = [
        PlexusTool(
            definition: tool(
                "status", "Node status",
                "Shows this node's agent id, version, uptime, what its store holds (entries, authors, latest cursor) and its mesh (listen address, connected peers, traffic counters).",
                properties: [:], readOnly: true),
            run: { _, node throws(PlexusError) in try encode(try await node.status()) }),
        PlexusTool(
            definition: tool(
                "publish", "Publish an entry",
                "Signs and stores a new entry in this agent's append-only feed and spreads it to the mesh. 'content' is a JSON object (for example {\"text\": \"...\"}); its strings are full-text searchable. Returns the stored entry with its id and cursor.",
                properties: [
                    "content": ["type": "object", "description": "The entry's content: any JSON object, e.g. {\"text\": \"the finding\"}."],
                    "type": string("Kind of entry, e.g. insight, question, answer, decision (default insight)."),
                    "topic": string("Topic to publish in; its subscribers receive it (default: the whole mesh)."),
                    "tags": ["type": "array", "items": ["type": "string"], "description": "Labels to filter by later."],
                    "refs": ["type": "array", "items": ["type": "string"], "description": "Ids (64 hex) of entries this one answers or cites; makes it part of their thread."],
                    "ttl_s": integer("Seconds until the entry expires and is removed everywhere.", minimum: 1),
                    "expires_ms": integer("Absolute expiry time in ms since the epoch (instead of ttl_s).", minimum: 1),
                ],
                required: ["content"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.publish(try PublishRequest(json: try arguments.json)))
            }),
        PlexusTool(
            definition: tool(
                "query", "Read the feed",
                "Lists stored entries (from every author this node holds), newest first, filtered by author, topic, type, tag or referenced entry. For entries that arrived after a point, pass 'since' (a cursor from an earlier result); with 'wait_ms' an empty result waits for new entries.",
                properties: [
                    "author": string("Only entries by this agent id."),
                    "topic": string("Only entries in this topic."),
                    "type": string("Only entries of this type."),
                    "tag": string("Only entries with this tag."),
                    "ref": string("Only entries that reference this entry id."),
                    "since": integer("Entries stored after this cursor, oldest first.", minimum: 0),
                    "before": integer("Entries stored before this cursor, newest first (paging back).", minimum: 0),
                    "limit": integer("Most entries to return (1-1000, default 50).", minimum: 1, maximum: 1000),
                    "wait_ms": integer("With 'since': wait up to this long for new entries (0-60000).", minimum: 0, maximum: 60_000),
                ],
                readOnly: true),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.feed(FeedRequest(
                    author: try arguments.agentID("author"), topic: try arguments.string("topic"), type: try arguments.string("type"),
                    tag: try arguments.string("tag"), ref: try arguments.entryID("ref"), since: try arguments.cursor("since"),
                    before: try arguments.cursor("before"), limit: try arguments.int("limit"), waitMs: try arguments.int("wait_ms"))))
            }),
        PlexusTool(
            definition: tool(
                "search", "Search entries",
                "Full-text search over every stored entry's text (SQLite FTS5 syntax: words, \"exact phrases\", OR, prefix*), best match first, optionally filtered.",
                properties: [
                    "query": string("What to search for."),
                    "author": string("Only entries by this agent id."),
                    "topic": string("Only entries in this topic."),
                    "type": string("Only entries of this type."),
                    "tag": string("Only entries with this tag."),
                    "limit": integer("Most hits to return (1-200, default 20).", minimum: 1, maximum: 200),
                    "offset": integer("Hits to skip, for paging.", minimum: 0),
                ],
                required: ["query"], readOnly: true),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.search(SearchRequest(
                    try arguments.requiredString("query"), author: try arguments.agentID("author"), topic: try arguments.string("topic"),
                    type: try arguments.string("type"), tag: try arguments.string("tag"), limit: try arguments.int("limit"),
                    offset: try arguments.int("offset"))))
            }),
        PlexusTool(
            definition: tool(
                "get", "Get an entry", "Returns one stored entry by its id (64 hex characters).",
                properties: ["id": string("The entry id.")], required: ["id"], readOnly: true),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.entry(try EntryID.parse(try arguments.requiredString("id"))))
            }),
        PlexusTool(
            definition: tool(
                "thread", "Get a thread",
                "Returns an entry and every stored entry that references it, directly or through replies, oldest first: a discussion.",
                properties: ["id": string("The id of the thread's first entry."), "limit": integer("Most entries (default 200).", minimum: 1, maximum: 1000)],
                required: ["id"], readOnly: true),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.thread(try EntryID.parse(try arguments.requiredString("id")), limit: try arguments.int("limit")))
            }),
        PlexusTool(
            definition: tool(
                "peers", "List peers", "Lists the mesh peers this node is connected to, with their agent ids, addresses and traffic.",
                properties: [:], readOnly: true),
            run: { _, node throws(PlexusError) in try encode(["peers": try await node.peers()]) }),
        PlexusTool(
            definition: tool(
                "add_peer", "Connect to a peer",
                "Connects this node to another node's mesh address (host:port) and keeps reconnecting to it. With 'id', the connection is refused unless that agent answers.",
                properties: ["address": string("The peer's mesh address, host:port."), "id": string("The agent id expected at that address.")],
                required: ["address"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.connect(ConnectRequest(address: try arguments.requiredString("address"), id: try arguments.agentID("id"))))
            }),
        PlexusTool(
            definition: tool(
                "remove_peer", "Disconnect a peer",
                "Disconnects a peer (by agent id or host:port) and stops reconnecting to it.",
                properties: ["peer": string("The peer's agent id or mesh address.")], required: ["peer"], readOnly: false),
            run: { arguments, node throws(PlexusError) in try encode(try await node.removePeer(try arguments.requiredString("peer"))) }),
        PlexusTool(
            definition: tool(
                "follow", "Follow an author",
                "Stores this author's entries. Once any author is followed, only followed authors (and this agent) are stored; entries of others are still passed on.",
                properties: ["author": string("The agent id to follow.")], required: ["author"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.follow(try AgentID.parse(try arguments.requiredString("author"))))
            }),
        PlexusTool(
            definition: tool(
                "unfollow", "Unfollow an author",
                "Stops storing an author's new entries. With no follows left, every author is stored again.",
                properties: ["author": string("The agent id to unfollow.")], required: ["author"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.unfollow(try AgentID.parse(try arguments.requiredString("author"))))
            }),
        PlexusTool(
            definition: tool(
                "subscribe", "Join a topic",
                "Joins a topic: its entries arrive from now on and its history is fetched from members.",
                properties: ["topic": string("The topic name.")], required: ["topic"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                try encode(["topics": try await node.subscribe(try arguments.requiredString("topic"))])
            }),
        PlexusTool(
            definition: tool(
                "unsubscribe", "Leave a topic", "Leaves a topic; entries already stored stay.",
                properties: ["topic": string("The topic name.")], required: ["topic"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                try encode(["topics": try await node.unsubscribe(try arguments.requiredString("topic"))])
            }),
        PlexusTool(
            definition: tool(
                "find_agents", "Find agents",
                "Looks up agents in the directory (their signed, self-announced records, spread over the mesh): one agent by id, or every agent offering a capability (skill or tool), acting for a user, or carrying a label. Shows addresses, capabilities, resources and presence (online, busy, stale).",
                properties: [
                    "id": string("An agent id: just that agent."),
                    "capability": string("A skill or tool name, e.g. summarize."),
                    "user": string("The user the agents act for."),
                    "label": string("A label, key or key=value."),
                ],
                readOnly: true),
            run: { arguments, node throws(PlexusError) in
                if let id = try arguments.agentID("id") {
                    return try encode(["agents": [try await node.agent(id)]])
                }
                return try encode(["agents": try await node.agents(AgentQuery(
                    capability: try arguments.string("capability"), user: try arguments.string("user"), label: try arguments.string("label")))])
            }),
        PlexusTool(
            definition: tool(
                "send_task", "Send a task",
                "Sends work to another agent: to one agent by id ('to'), or to any agent offering 'capability' (found in the directory). Returns the task with its id and state; with 'wait_ms' it waits for the result. States: submitted, working, completed, failed, canceled, rejected.",
                properties: [
                    "to": string("The agent id to send to (optional when a capability is enough)."),
                    "capability": string("The skill asked for, e.g. summarize."),
                    "payload": ["description": "The work: any JSON (an object, a string, ...)."],
                    "timeout_ms": integer("Milliseconds until the task fails with timeout (default 60000).", minimum: 1, maximum: 3_600_000),
                    "wait_ms": integer("Milliseconds to wait for the task to end before answering (0-60000).", minimum: 0, maximum: 60_000),
                    "require": [
                        "type": "array", "items": ["type": "string"],
                        "description": "Conditions on the worker: cpu_cores>=N, ram_mb>=N, device=TYPE, TYPE.PROPERTY>=N (e.g. gpu.vram_gb>=24), TYPE.model~TEXT, skill=NAME, label.KEY=VALUE.",
                    ],
                ],
                required: ["capability", "payload"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                let fields = try arguments.json.objectValue ?? [:]
                var require: [String]?
                if let list = fields["require"] {
                    guard case .array(let items) = list else { throw PlexusError(.invalidArgument, "'require' must be an array of strings") }
                    require = try items.map { item throws(PlexusError) in
                        guard case .string(let text) = item else { throw PlexusError(.invalidArgument, "'require' must be an array of strings") }
                        return text
                    }
                }
                return try encode(try await node.sendTask(SendTaskRequest(
                    to: try arguments.agentID("to"), capability: try arguments.requiredString("capability"), payload: fields["payload"] ?? .null,
                    timeoutMs: try arguments.int("timeout_ms"), waitMs: try arguments.int("wait_ms"), require: require)))
            }),
        PlexusTool(
            definition: tool(
                "get_task", "Get a task",
                "Shows a task sent or received here by id: state, progress message, result or error. With 'wait_ms', waits for a sent task to end (or a received one to change).",
                properties: ["id": string("The task id (32 hex characters)."), "wait_ms": integer("Milliseconds to wait (0-60000).", minimum: 0, maximum: 60_000)],
                required: ["id"], readOnly: true),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.task(try TaskID.parse(try arguments.requiredString("id")), waitMs: try arguments.int("wait_ms") ?? 0))
            }),
        PlexusTool(
            definition: tool(
                "next_task", "Take a task",
                "As a worker: takes the next task sent to this agent for 'capability', with a lease; answer it with complete_task before the lease runs out or it is handed out again. Returns {\"task\": null} when none came within 'wait_ms'.",
                properties: [
                    "capability": string("The capability to take tasks for."),
                    "wait_ms": integer("Milliseconds to wait for one (0-60000).", minimum: 0, maximum: 60_000),
                    "lease_ms": integer("Milliseconds the lease lasts (default 60000).", minimum: 1000, maximum: 600_000),
                ],
                required: ["capability"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                let task = try await node.nextTask(
                    capability: try arguments.requiredString("capability"), waitMs: try arguments.int("wait_ms") ?? 0,
                    leaseMs: try arguments.int("lease_ms") ?? 60_000)
                return try encode(["task": task])
            }),
        PlexusTool(
            definition: tool(
                "complete_task", "Answer a task",
                "As a worker: posts the result of a task taken with next_task ('result', any JSON), or fails it ('error_code' and 'error_message'). The caller receives it.",
                properties: [
                    "id": string("The task id."),
                    "result": ["description": "The result: any JSON."],
                    "error_code": string("To fail the task: an error code such as dependencyError."),
                    "error_message": string("To fail the task: what went wrong."),
                ],
                required: ["id"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                let id = try TaskID.parse(try arguments.requiredString("id"))
                let outcome: TaskResultRequest
                if let code = try arguments.string("error_code") {
                    outcome = TaskResultRequest(error: .init(code: code, message: try arguments.string("error_message") ?? code))
                } else {
                    outcome = TaskResultRequest(result: try arguments.json.objectValue?["result"] ?? .null)
                }
                return try encode(try await node.finishTask(id, with: outcome))
            }),
    ]

    static let byName: [String: PlexusTool] = Dictionary(uniqueKeysWithValues: all.map { ($0.definition.name, $0) })

    // MARK: - Schema helpers

    private static func tool(
        _ name: String, _ title: String, _ description: String, properties: [String: Value], required: [String] = [],
        readOnly: Bool
    ) -> Tool {
        Tool(
            name: name, title: title, description: description,
            inputSchema: [
                "type": "object", "properties": .object(properties),
                "required": .array(required.map { .string($0) }), "additionalProperties": false,
            ],
            annotations: .init(title: title, readOnlyHint: readOnly, openWorldHint: false))
    }

    private static func string(_ description: String) -> Value {
        ["type": "string", "description": .string(description)]
    }

    private static func integer(_ description: String, minimum: Int? = nil, maximum: Int? = nil) -> Value {
        var schema: [String: Value] = ["type": "integer", "description": .string(description)]
        if let minimum { schema["minimum"] = .int(minimum) }
        if let maximum { schema["maximum"] = .int(maximum) }
        return .object(schema)
    }

    private static func encode(_ value: some Encodable) throws(PlexusError) -> Data {
        do {
            return try JSONEncoder.compact.encode(value)
        } catch {
            throw PlexusError(.internal, "cannot encode the result: \(error)")
        }
    }
}
