import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore

/// `plexus events`: the node's server-sent event stream on the terminal, resumed with
/// `Last-Event-ID` when the connection drops.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Stream entries as the node stores them (GET /v1/events); --json prints one entry per line.")

    @OptionGroup var global: GlobalOptions

    @OptionGroup var filters: EntryFilters

    @Option(name: .long, help: "Start after this cursor (default: from now).")
    var since: Int64?

    @Option(name: .long, help: "Exit after this many entries.")
    var count: Int?

    /// Reconnection attempts in a row before giving up.
    static let maxReconnects = 5

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let client = try await global.client()
            if let count, count < 1 { throw PlexusError(.invalidArgument, "--count must be at least 1") }
            guard filters.sinceTime == nil, !filters.includeHidden else {
                throw PlexusError(.invalidArgument, "events streams from a cursor (--since); --since-time and --include-hidden apply to feed and search")
            }
            // Resume points are cursors: starting from the latest one, a reconnect before
            // the first event still misses nothing.
            var lastID = String(since ?? 0)
            if since == nil { lastID = String(try await client.status().store.latestCursor) }
            var printed = 0
            var failures = 0
            while true {
                do {
                    for try await event in client.events(
                        author: filters.author, topic: filters.topic, group: filters.group, type: filters.type, tag: filters.tag,
                        lastEventID: lastID) {
                        failures = 0
                        guard event.event == "entry" else {
                            throw PlexusError(.internal, "the node ended the stream: \(event.data)")
                        }
                        if let id = event.id { lastID = id }
                        if global.json {
                            print(event.data)
                        } else if let entry = try? JSONDecoder().decode(EntryView.self, from: Data(event.data.utf8)) {
                            print(Output.describe(entry))
                        }
                        fflush(nil)
                        printed += 1
                        if let count, printed >= count { return }
                    }
                } catch let error as PlexusError where error.code == .nodeNotRunning {
                    failures += 1
                    guard failures <= Self.maxReconnects else { throw error }
                }
                // The stream ended (node restarting, connection lost): resume where it stopped.
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }
}
