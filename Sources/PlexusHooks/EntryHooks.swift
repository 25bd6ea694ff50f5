import Foundation
import Logging
import PlexusCore
import PlexusNode
import PlexusStore
import ServiceLifecycle

/// Runs the configured hook command and webhook for every entry that arrives live from
/// another agent (pushed by gossip or submitted; this node's own publishes do not trigger
/// them). History that anti-entropy fetches when the node joins or subscribes runs them
/// only with `hooks: backfill: true`; an entry anti-entropy brings that was signed after the
/// node joined its topic counts as live (a push that was lost). Agent records are soft state, never
/// entries, so they never run a hook. Reads the store from where it started by cursor, so
/// nothing is skipped while hooks are busy: what a hook cannot keep up with is dropped by
/// its bounded queue and counted.
public struct EntryHooks: Service {
    let node: Node
    let command: CommandHook?
    let webhook: Webhook?
    let backfill: Bool
    let logger: Logger

    /// Nil when neither a hook command nor a webhook is configured.
    public init?(node: Node, settings: HookSettings, logger: Logger) throws(PlexusError) {
        guard settings.onEntry != nil || settings.webhook != nil else { return nil }
        self.node = node
        self.logger = logger
        backfill = settings.backfill
        command = try settings.onEntry.map { onEntry throws(PlexusError) in try CommandHook(command: onEntry, settings: settings, logger: logger) }
        webhook = settings.webhook.map { Webhook(url: $0, event: .entry, settings: settings, logger: logger) }
    }

    public func run() async throws {
        let start = try await node.status().store.latestCursor
        try await cancelWhenGracefulShutdown {
            let encoder = JSONEncoder.compact
            var cursor = start
            while !Task.isCancelled {
                let page = try await node.feed(FeedQuery(since: cursor, limit: 200), wait: .seconds(15))
                for stored in page.entries where stored.entry.author != node.id && (backfill || stored.arrival.isLive) {
                    guard let json = try? encoder.encode(stored.view) else { continue }
                    await command?.offer(author: stored.entry.author, json: json)
                    await webhook?.offer(id: stored.entry.id.hex, json: json)
                }
                cursor = page.nextCursor ?? cursor
            }
        }
    }
}
