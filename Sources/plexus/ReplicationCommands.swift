import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore

struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics", abstract: "List the topics the node is in, with overlay neighbours and entry counts.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors(json: global.json) {
            printTopics(try await global.client().topics(), json: global.json)
        }
    }
}

struct SubscribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscribe", abstract: "Join a topic: its entries arrive from now on, its history by anti-entropy.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The topic name (1-128 bytes).")
    var topic: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            printTopics(try await global.client().subscribe(topic), json: global.json)
        }
    }
}

struct UnsubscribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unsubscribe", abstract: "Leave a topic; its entries stay stored.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The topic name.")
    var topic: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            printTopics(try await global.client().unsubscribe(topic), json: global.json)
        }
    }
}

struct FollowsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "follows", abstract: "List the authors the node stores (none: every author).")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors(json: global.json) {
            printFollows(try await global.client().follows(), json: global.json)
        }
    }
}

struct FollowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "follow",
        abstract: "Store only followed authors (and your own feed) from now on; others are still forwarded.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The author's agent id.")
    var author: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            printFollows(try await global.client().follow(try AgentID.parse(author)), json: global.json)
        }
    }
}

struct UnfollowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unfollow", abstract: "Stop following an author; with none left, every author is stored.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The author's agent id.")
    var author: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            printFollows(try await global.client().unfollow(try AgentID.parse(author)), json: global.json)
        }
    }
}

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Anti-entropy per neighbour and topic: rounds, entries streamed, credit.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let sessions = try await global.client().sync()
            if global.json {
                Output.printJSON(sessions)
                return
            }
            if sessions.isEmpty { print("(no anti-entropy yet: no topic neighbours)") }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for session in sessions {
                let last = session.lastRoundMs.map { "\(max(0, now - $0) / 1000) s ago" } ?? "never"
                print("""
                    \(session.topic)  \(session.peer.short)  rounds \(session.rounds) (last \(last))  \
                    received \(session.entriesReceived)  sent \(session.entriesSent)  streaming \(session.sending) feeds
                    """)
            }
        }
    }
}

private func printTopics(_ topics: [TopicView], json: Bool) {
    if json {
        Output.printJSON(topics)
        return
    }
    for topic in topics {
        let neighbors = topic.neighbors.map(\.short).joined(separator: ", ")
        print("\(topic.name)  \(topic.entries) entries  neighbours: \(neighbors.isEmpty ? "-" : neighbors)")
    }
}

private func printFollows(_ follows: FollowsView, json: Bool) {
    if json {
        Output.printJSON(follows)
        return
    }
    if follows.storesAll { print("(no follows: every author is stored)") }
    for author in follows.authors { print(author) }
}
