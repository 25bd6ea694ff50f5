import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore

/// `plexus dm`: direct messages, sealed to one agent.
struct DirectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dm", abstract: "Direct messages: send, list, read, watch, conversations.",
        subcommands: [DirectSendCommand.self, DirectListCommand.self, DirectReadCommand.self, DirectWatchCommand.self, DirectConversationsCommand.self])

    /// Two lines: who, when, state; the content (its text when it has one).
    static func describe(_ message: DirectMessageView) -> String {
        let arrow = message.direction == .incoming ? "from" : "to"
        var head = "\(message.id)  \(arrow) \(message.peer.short)  \(Self.time(message.timeMs))  \(message.state.rawValue)"
        if message.direction == .incoming, message.readMs == nil { head += " (unread)" }
        if let error = message.lastError, message.state != .delivered { head += "  (\(error))" }
        return head + "\n  " + text(message.content)
    }

    static func text(_ content: JSONValue?) -> String {
        guard let content else { return "(cannot be opened here)" }
        if case .string(let text)? = content.objectValue?["text"] { return text }
        return String(decoding: content.canonicalData(), as: UTF8.self)
    }

    static func time(_ ms: Int64) -> String {
        Date(timeIntervalSince1970: Double(ms) / 1000).ISO8601Format()
    }
}

struct DirectSendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send a message to one agent: sealed to its key, signed by this one; kept and retried while it is unreachable.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The recipient's agent id.")
    var agent: String

    @Argument(help: "The text, or '-' to read it from stdin.")
    var text: String

    @Flag(name: .long, help: "The text is a JSON object to send as it is (not {\"text\": …}).")
    var jsonContent = false

    @Option(name: .long, help: "Seconds to wait for the recipient's acknowledgement (0: do not wait).")
    var wait = 10

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let raw = text == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : text
            let content = jsonContent ? try JSONValue(parsing: Data(raw.utf8)) : .object(["text": .string(raw)])
            let message = try await global.client().sendDirect(
                DirectSendRequest(to: try AgentID.parse(agent), content: content, waitMs: min(max(wait, 0), 60) * 1000))
            if global.json { return Output.printJSON(message) }
            switch message.state {
            case .delivered: print("delivered \(message.id)")
            case .pending: print("sent \(message.id): waiting in the outbox for \(message.peer.short) (\(message.lastError ?? "not acknowledged yet"))")
            default: print("\(message.state.rawValue) \(message.id)" + (message.lastError.map { ": \($0)" } ?? ""))
            }
        }
    }
}

struct DirectListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Messages sent and received, newest first.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Only those exchanged with this agent.")
    var with: String?

    @Flag(name: .long, help: "Only quarantined messages (from senders below trust: messages_from).")
    var quarantined = false

    @Option(name: .long, help: "How many at most.")
    var limit = 50

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let peer = try with.map { text throws(PlexusError) in try AgentID.parse(text) }
            let page = try await global.client().directMessages(DirectListRequest(with: peer, quarantined: quarantined, limit: limit))
            if global.json { return Output.printJSON(page) }
            if page.messages.isEmpty { print("(no messages)") }
            for message in page.messages { print(DirectCommand.describe(message)) }
        }
    }
}

struct DirectReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "read", abstract: "Show one message and mark it read.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The message id.")
    var id: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let client = try await global.client()
            let id = try DirectID.parse(id)
            var message = try await client.directMessage(id)
            if message.direction == .incoming { message = try await client.markDirectRead(id) }
            if global.json { return Output.printJSON(message) }
            print(DirectCommand.describe(message))
        }
    }
}

struct DirectWatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "watch", abstract: "Print messages as they are sent and received.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Only those exchanged with this agent.")
    var with: String?

    @Option(name: .long, help: "Stop after this many.")
    var count: Int?

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let peer = try with.map { text throws(PlexusError) in try AgentID.parse(text) }
            let client = try await global.client()
            var printed = 0
            for try await event in client.directEvents(with: peer) {
                guard event.event == "dm" else { throw PlexusError(.internal, "the node ended the stream: \(event.data)") }
                if global.json {
                    print(event.data)
                } else if let message = try? JSONDecoder().decode(DirectMessageView.self, from: Data(event.data.utf8)) {
                    print(DirectCommand.describe(message))
                }
                fflush(nil)
                printed += 1
                if let count, printed >= count { return }
            }
        }
    }
}

struct DirectConversationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "conversations", abstract: "One line per agent messages were exchanged with.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let conversations = try await global.client().conversations()
            if global.json { return Output.printJSON(conversations) }
            if conversations.isEmpty { print("(no conversations)") }
            for line in conversations {
                print("\(line.peer)  \(line.messages) messages, \(line.unread) unread  last: \(DirectCommand.text(line.last.content).prefix(60))")
            }
        }
    }
}
