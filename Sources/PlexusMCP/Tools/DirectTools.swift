import Foundation
import PlexusCore

extension ToolCatalog {
    /// Direct messages: `dm_send`, `dm_list`.
    static let direct: [PlexusTool] = [
        PlexusTool(
            definition: tool(
                "dm_send", "Send a direct message",
                "Sends a private message to one agent: sealed so only it can read it, signed by this agent. While the recipient is unreachable the message waits in the outbox and is retried (24 h).",
                properties: [
                    "to": string("The recipient's agent id."),
                    "text": string("The message text (sent as {\"text\": …})."),
                    "wait_ms": integer("How long to wait for the acknowledgement (0-60000, default 10000).", minimum: 0, maximum: 60_000),
                ],
                required: ["to", "text"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                guard let to = try arguments.agentID("to") else { throw PlexusError(.invalidArgument, "missing argument 'to'") }
                let text = try arguments.requiredString("text")
                return try encode(try await node.sendDirect(
                    DirectSendRequest(to: to, content: .object(["text": .string(text)]), waitMs: try arguments.int("wait_ms") ?? 10_000)))
            }),
        PlexusTool(
            definition: tool(
                "dm_list", "List direct messages",
                "Direct messages sent and received, newest first, opened; optionally only those with one agent or only quarantined ones.",
                properties: [
                    "with": string("Only those exchanged with this agent."),
                    "quarantined": boolean("Only quarantined messages (from senders below trust: messages_from)."),
                    "limit": integer("How many at most (default 50).", minimum: 1, maximum: 1000),
                ],
                required: [], readOnly: true),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.directMessages(DirectListRequest(
                    with: try arguments.agentID("with"), quarantined: try arguments.bool("quarantined") ?? false, limit: try arguments.int("limit"))))
            }),
    ]
}
