import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore

/// A point in time given on the command line: `30m`, `2h`, `7d`, `45s` ago; an RFC 3339
/// date-time; or ms since the epoch.
enum TimeArgument {
    static func milliseconds(_ text: String, nowMs: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) throws(PlexusError) -> Int64 {
        if let number = Int64(text), number >= 0 { return number }
        let units: [Character: Int64] = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]
        if let unit = text.last.flatMap({ units[$0] }), let count = Int64(text.dropLast()), count >= 0, count < 100_000 {
            return max(0, nowMs - count * unit)
        }
        if let ms = InternetTime.milliseconds(text) { return ms }
        throw PlexusError(
            .invalidArgument, "'\(text.prefix(40))' is not a time: give 30m, 2h, 7d, an RFC 3339 date-time or ms since the epoch")
    }
}

struct RetractCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retract", abstract: "Take back one of your group entries: every member's views and retrieval leave it out.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The entry's id.")
    var id: String

    @Option(name: .long, help: "Why.")
    var reason: String?

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let entry = try await global.client().retract(try EntryID.parse(id), reason: reason)
            if global.json { Output.printJSON(entry) } else { print("retracted \(id) with \(entry.id) (seq \(entry.seq))") }
        }
    }
}

struct ContextCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "context", abstract: "Compile what a group knows about a query into a context that fits a token budget.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The group's id or name.")
    var group: String

    @Option(name: .long, help: "Most tokens of context (default \(ContextRequest.defaultBudget)).")
    var budget: Int?

    @Option(name: .long, help: "Only entries signed since TIME (30m, 2h, 7d, an RFC 3339 date-time, or ms since the epoch).")
    var since: String?

    @Argument(help: "What the context should answer.")
    var query: [String]

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let request = ContextRequest(
                query: query.joined(separator: " "), budget: budget,
                sinceMs: try since.map { text throws(PlexusError) in try TimeArgument.milliseconds(text) })
            let context = try await global.client().compileContext(group: group, request)
            if global.json {
                Output.printJSON(context)
            } else {
                print(context.text.isEmpty ? "(nothing in the group matches)" : context.text)
                print("-- \(context.tokens)/\(context.budget) tokens, \(context.pieces.count) \(context.pieces.count == 1 ? "entry" : "entries") of \(context.candidates) candidates, \(context.omitted) left out")
            }
        }
    }
}

// MARK: - Board

struct BoardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "board",
        abstract: "A group's task board: list (default), create, assign, start, complete, fail, accept, cancel, dispute, rule.",
        subcommands: [
            BoardListCommand.self, BoardCreateCommand.self, BoardAssignCommand.self, BoardStartCommand.self,
            BoardCompleteCommand.self, BoardFailCommand.self, BoardAcceptCommand.self, BoardCancelCommand.self,
            BoardDisputeCommand.self, BoardRuleCommand.self,
        ],
        defaultSubcommand: BoardListCommand.self)
}

private func printTask(_ task: BoardTaskView, json: Bool) {
    if json {
        Output.printJSON(task)
    } else {
        print(describe(task))
    }
}

private func describe(_ task: BoardTaskView) -> String {
    var line = "\(task.id.hex.prefix(12))  \(task.state.padding(toLength: 9, withPad: " ", startingAt: 0))  \(task.title)"
    line += "\n  by \(task.creator.short)"
    if let assignee = task.assignee { line += ", for \(assignee.short)" }
    if let result = task.result { line += ", result \(result.hex.prefix(12))" }
    if let reason = task.reason { line += ", failed: \(reason)" }
    if let reward = task.reward {
        line += "\n  reward \(reward), \(task.escrow ?? "waiting")"
        if let payee = task.payee { line += " to \(payee.short)" }
        if let arbiter = task.arbiter { line += ", arbiter \(arbiter.short)" }
    }
    if let dispute = task.dispute { line += "\n  disputed: \(dispute)" }
    return line
}

struct BoardListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the board's tasks, newest first.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let board = try await global.client().board(group: group)
            if global.json {
                Output.printJSON(board)
                return
            }
            if board.tasks.isEmpty { print("(no tasks)") }
            for task in board.tasks { print(describe(task)) }
            for refused in board.refused { print("refused \(refused.id.hex.prefix(12)): \(refused.reason)") }
        }
    }
}

struct BoardCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Put a task on the board.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    @Argument(help: "The task's title.")
    var title: String

    @Option(name: .long, help: "What is to be done.")
    var body: String?

    @Option(name: .long, help: "The member (agent id) who should do it.")
    var assignee: String?

    @Option(name: .long, help: "Tokens to lock from your balance as the task's reward (paid when you accept the result).")
    var reward: Int64?

    @Option(name: .long, help: "With --reward: the member (agent id) who rules a dispute.")
    var arbiter: String?

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let request = BoardCreateRequest(
                title: title, body: body, assignee: try assignee.map { text throws(PlexusError) in try AgentID.parse(text) },
                reward: reward, arbiter: try arbiter.map { text throws(PlexusError) in try AgentID.parse(text) })
            printTask(try await global.client().createBoardTask(group: group, request), json: global.json)
        }
    }
}

/// The group and task every move names.
struct BoardTaskArguments: ParsableArguments {
    @Argument(help: "The group's id or name.")
    var group: String

    @Argument(help: "The task's id.")
    var task: String

    func move(_ move: BoardMove, global: GlobalOptions) async throws(PlexusError) {
        printTask(try await global.client().moveBoardTask(group: group, task: try EntryID.parse(task), move), json: global.json)
    }
}

struct BoardAssignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "assign", abstract: "Assign a task (its creator or a manager).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: BoardTaskArguments

    @Argument(help: "The member's agent id.")
    var agent: String

    func run() async throws {
        try await reportingErrors(json: global.json) { try await target.move(.assign(try AgentID.parse(agent)), global: global) }
    }
}

struct BoardStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a task assigned to you.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: BoardTaskArguments

    func run() async throws {
        try await reportingErrors(json: global.json) { try await target.move(.start, global: global) }
    }
}

struct BoardCompleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "complete", abstract: "Complete your task with the entry that holds the result.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: BoardTaskArguments

    @Argument(help: "The id of the entry with the result.")
    var result: String

    func run() async throws {
        try await reportingErrors(json: global.json) { try await target.move(.complete(result: try EntryID.parse(result)), global: global) }
    }
}

struct BoardFailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fail", abstract: "Fail your task, saying why.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: BoardTaskArguments

    @Argument(help: "Why it failed.")
    var reason: String

    func run() async throws {
        try await reportingErrors(json: global.json) { try await target.move(.fail(reason: reason), global: global) }
    }
}

struct BoardAcceptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accept", abstract: "Accept the result of your completed task (its reward goes to the assignee).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: BoardTaskArguments

    func run() async throws {
        try await reportingErrors(json: global.json) { try await target.move(.accept, global: global) }
    }
}

struct BoardCancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel your task while it is open or after it failed (its reward comes back).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: BoardTaskArguments

    func run() async throws {
        try await reportingErrors(json: global.json) { try await target.move(.cancel, global: global) }
    }
}

struct BoardDisputeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispute", abstract: "Ask the task's arbiter to rule (its creator or assignee), saying why.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: BoardTaskArguments

    @Argument(help: "Why.")
    var reason: String

    func run() async throws {
        try await reportingErrors(json: global.json) { try await target.move(.dispute(reason: reason), global: global) }
    }
}

struct BoardRuleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rule", abstract: "Rule a disputed task as its arbiter: whom the reward goes to.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: BoardTaskArguments

    @Argument(help: "The agent id the reward goes to: the task's creator or its assignee.")
    var to: String

    func run() async throws {
        try await reportingErrors(json: global.json) { try await target.move(.rule(to: try AgentID.parse(to)), global: global) }
    }
}

// MARK: - Presence

struct PresenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presence", abstract: "Who is around in a group (default), or set your own presence.",
        subcommands: [PresenceListCommand.self, PresenceSetCommand.self], defaultSubcommand: PresenceListCommand.self)
}

struct PresenceListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "The members' presence.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    @Option(name: .customLong("stale-after"), help: "Seconds after which a presence counts as stale (default 120).")
    var staleAfter: Int?

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let presence = try await global.client().presence(group: group, staleAfterMs: staleAfter.map { Int64($0) * 1000 })
            if global.json {
                Output.printJSON(presence)
                return
            }
            if presence.isEmpty { print("(nobody has said)") }
            for member in presence {
                var line = "\(member.agent.short)  \(member.status.rawValue)  \(Output.timestamp(member.timeMs))"
                if member.stale { line += "  (stale)" }
                if let text = member.text { line += "  \(text)" }
                if let note = member.note { line += "  " + String(decoding: note.canonicalData(), as: UTF8.self) }
                print(line)
            }
        }
    }
}

struct PresenceSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Say how you are in a group (online, busy, away; offline clears it).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    @Argument(help: "online, busy, away or offline.")
    var status: PresenceStatus

    @Option(name: .long, help: "Free text (at most 256 bytes).")
    var text: String?

    @Option(name: .long, help: "Small metadata as a JSON object.")
    var note: String?

    @Option(name: .long, help: "Seconds it lives without a refresh (10-3600, default 300).")
    var ttl: Int?

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let request = PresenceRequest(
                status: status, text: text, note: try note.map { text throws(PlexusError) in try JSONValue(parsing: Data(text.utf8)) },
                ttlSeconds: ttl)
            let view = try await global.client().setPresence(group: group, request)
            if global.json { Output.printJSON(view) } else { print("\(view.status.rawValue) in \(group) until \(Output.timestamp(view.expiresMs)) (refreshed while the node runs)") }
        }
    }
}

extension PresenceStatus: ExpressibleByArgument {}
