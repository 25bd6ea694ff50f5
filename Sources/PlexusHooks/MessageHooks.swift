import Foundation
import Logging
import PlexusCore
import PlexusNode
import ServiceLifecycle

/// Runs the configured message hook command and message webhook (`hooks: on_message`,
/// `message_webhook`) for each direct message taken into the inbox from when the node
/// started: the message's JSON with its content opened, as `GET /v1/dms/{id}` shows it.
/// Quarantined messages (below `trust: messages_from`) and this node's own do not run them;
/// refused ones are never stored. Reads the messages by sequence number, so none is skipped
/// while hooks are busy; their bounded queues drop and count what they cannot keep up with.
public struct MessageHooks: Service {
    let node: Node
    let command: CommandHook?
    let webhook: Webhook?
    let logger: Logger

    /// Nil when neither a message hook command nor a message webhook is configured.
    public init?(node: Node, settings: HookSettings, logger: Logger) throws(PlexusError) {
        guard settings.onMessage != nil || settings.messageWebhook != nil else { return nil }
        self.node = node
        self.logger = logger
        command = try settings.onMessage.map { onMessage throws(PlexusError) in try CommandHook(command: onMessage, settings: settings, logger: logger) }
        webhook = settings.messageWebhook.map { Webhook(url: $0, event: .dm, settings: settings, logger: logger) }
    }

    public func run() async throws {
        let start = try await node.directMessages(DirectListRequest(limit: 1)).messages.first?.seq ?? 0
        try await cancelWhenGracefulShutdown {
            let encoder = JSONEncoder.compact
            var cursor = start
            while !Task.isCancelled {
                let page = try await node.directMessages(DirectListRequest(since: cursor, limit: 200, waitMs: 15_000))
                for message in page.messages where message.direction == .incoming && message.state == .received {
                    guard let json = try? encoder.encode(message) else { continue }
                    await command?.offer(author: message.peer, json: json)
                    await webhook?.offer(id: message.id.description, json: json)
                }
                cursor = page.nextSeq ?? cursor
            }
        }
    }
}
