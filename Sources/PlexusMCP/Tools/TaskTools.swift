import Foundation
import PlexusCore

extension ToolCatalog {
    /// Tasks: `send_task`, `get_task`, `next_task`, `complete_task`.
    static let tasks: [PlexusTool] = [
        PlexusTool(
            definition: tool(
                "send_task", "Send a task",
                "Sends work to another agent: to one agent by id ('to'), or to any agent offering 'capability' (found in the directory). Returns the task with its id and state; with 'wait_ms' it waits for the result. States: submitted, working, completed, failed, canceled, rejected.",
                properties: [
                    "to": string("The agent id to send to (optional when a capability is enough)."),
                    "capability": string("The skill asked for, e.g. summarize."),
                    "payload": ["description": "The work: any JSON (an object, a string, ...)."],
                    "timeout_ms": integer("Milliseconds until the task fails with timeout (default 60000).", minimum: 1, maximum: 3_600_000),
                    "wait_ms": integer("Milliseconds to wait for the task to end before answering (0-\(WaitTime.maxMs)).", minimum: 0, maximum: WaitTime.maxMs),
                    "require": [
                        "type": "array", "items": ["type": "string"],
                        "description": "Conditions on the worker: cpu_cores>=N, ram_mb>=N, device=TYPE, TYPE.PROPERTY>=N (e.g. gpu.vram_gb>=24), TYPE.model~TEXT, skill=NAME, label.KEY=VALUE.",
                    ],
                ],
                required: ["capability", "payload"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                let fields = arguments.fields
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
                properties: ["id": string("The task id (32 hex characters)."), "wait_ms": integer("Milliseconds to wait (0-\(WaitTime.maxMs)).", minimum: 0, maximum: WaitTime.maxMs)],
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
                    "wait_ms": integer("Milliseconds to wait for one (0-\(WaitTime.maxMs)).", minimum: 0, maximum: WaitTime.maxMs),
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
                    outcome = TaskResultRequest(result: arguments.fields["result"] ?? .null)
                }
                return try encode(try await node.finishTask(id, with: outcome))
            }),
    ]
}
