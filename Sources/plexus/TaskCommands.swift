import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore
import PlexusHooks

/// `plexus task …`: send work to agents and follow it; the pull side for workers.
struct TaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task", abstract: "Send a task and follow it, or take and answer tasks as a worker.",
        subcommands: [
            TaskSendCommand.self, TaskStatusCommand.self, TaskCancelCommand.self, TaskNextCommand.self,
            TaskProgressCommand.self, TaskResultCommand.self,
        ])

    /// JSON text as JSON; anything else as a JSON string.
    static func payload(_ text: String) -> JSONValue {
        (try? JSONValue(parsing: Data(text.utf8))) ?? .string(text)
    }

    static func describe(_ task: TaskView) -> String {
        var line = "\(task.id)  \(task.state.rawValue)  \(task.capability)"
        if let worker = task.worker, task.role == .caller { line += "  → \(worker.short)" }
        if task.role == .worker { line += "  from \(task.caller.short)" }
        if let message = task.message, !message.isEmpty { line += "  \"\(message)\"" }
        if let error = task.error { line += "  \(error.message) [\(error.code)]" }
        if let result = task.result, let text = try? JSONEncoder.compact.encode(result) { line += "  result \(String(decoding: text, as: UTF8.self))" }
        return line
    }

    static func print(_ task: TaskView, json: Bool) {
        if json { Output.printJSON(task) } else { Swift.print(describe(task)) }
    }

    /// Fetches a blob a task named (from `source` first) and writes its bytes to `path`, or
    /// to stdout.
    static func write(_ reference: BlobReference, from source: AgentID?, to path: String?, client: NodeClient) async throws {
        _ = try await client.fetchBlob(reference.id, BlobFetchRequest(from: source.map { [$0] }, waitMs: 600_000))
        if let path {
            let url = URL(fileURLWithPath: path)
            FileManager.default.createFile(atPath: url.path, contents: nil)
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            try await client.readBlob(reference.id) { try handle.write(contentsOf: $0) }
        } else {
            try await client.readBlob(reference.id) { FileHandle.standardOutput.write($0) }
        }
    }

    /// Results longer than this go back as a blob: a task message carries at most 64 KiB.
    static let inlineResultBytes = 32 * 1024
}

struct TaskSendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send a task to an agent (--to) or to one offering --capability; waits for it to end and prints the outcome (--no-wait: only submits).")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The agent to send to.")
    var to: String?

    @Option(name: .long, help: "The capability asked for (with --to, default 'default').")
    var capability: String?

    @Option(name: .long, help: "Seconds until the task fails with timeout (default 60).")
    var timeout: Double = 60

    @Option(name: .long, help: "A condition on the worker (repeatable): cpu_cores>=N, ram_mb>=N, device=TYPE, TYPE.PROP>=N, TYPE.model~TEXT, skill=NAME, label.KEY=VALUE.")
    var require: [String] = []

    @Flag(
        inversion: .prefixedNo,
        help: "Wait for the task to end (up to --timeout) and print the outcome, exiting 1 unless it completed (the default); --no-wait prints the submitted task and exits.")
    var wait = true

    @Option(name: .long, help: "Send this file as the payload, as a blob the worker fetches (its --exec reads the bytes on stdin); a PAYLOAD given too goes beside it.")
    var file: String?

    @Option(name: [.short, .long], help: "Write a result that came as a blob to this file (default: stdout).")
    var output: String?

    @Argument(help: "The payload: JSON, or text (sent as a JSON string); - reads stdin.")
    var payload: String?

    func validate() throws {
        guard to != nil || capability != nil else { throw ValidationError("give --to ID or --capability NAME") }
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout is 0 to 3600 seconds") }
        guard payload != nil || file != nil else { throw ValidationError("give a PAYLOAD or --file FILE") }
    }

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let client = try await global.client(timeout: .seconds(Int64(timeout) + 15))
            var value = payload.map { payload in
                TaskCommand.payload(payload == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : payload)
            }
            if let file {
                let url = URL(fileURLWithPath: file)
                let blob = try await client.putBlob(file: url, pin: false)
                value = BlobReference(id: blob.id, size: blob.size, name: url.lastPathComponent).attached(to: value)
            }
            let timeoutMs = Int(timeout * 1000)
            var task = try await client.sendTask(SendTaskRequest(
                to: try to.map { text throws(PlexusError) in try AgentID.parse(text) }, capability: capability ?? "default",
                payload: value ?? .null, timeoutMs: timeoutMs, require: require.isEmpty ? nil : require))
            while wait, !task.state.isTerminal {
                task = try await client.task(task.id, waitMs: min(FeedRequest.maxWaitMs, timeoutMs + 1000))
            }
            if wait, task.state == .completed, let reference = BlobReference(in: task.result) {
                try await TaskCommand.write(reference, from: task.worker, to: output, client: client)
                if global.json || output != nil { TaskCommand.print(task, json: global.json) }
                return
            }
            TaskCommand.print(task, json: global.json)
            if wait, task.state != .completed { throw ExitCode(1) }
        }
    }
}

struct TaskStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show a task sent or received here.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Seconds to wait for it to end (sent) or change (received).")
    var wait: Double = 0

    @Argument(help: "The task id.")
    var id: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let task = try await global.client(timeout: .seconds(Int64(wait) + 15)).task(
                try TaskID.parse(id), waitMs: Int(min(wait, 60) * 1000))
            TaskCommand.print(task, json: global.json)
        }
    }
}

struct TaskCancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a task sent from here; the worker is told.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The task id.")
    var id: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            TaskCommand.print(try await global.client().cancelTask(try TaskID.parse(id)), json: global.json)
        }
    }
}

struct TaskNextCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "next", abstract: "Take the next task for a capability with a lease (worker side); exit 1 when none came.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The capability to take tasks for.")
    var capability: String

    @Option(name: .long, help: "Seconds to wait for one (at most 60).")
    var wait: Double = 30

    @Option(name: .long, help: "Seconds the lease lasts (renewed by progress).")
    var lease: Double = 60

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let client = try await global.client(timeout: .seconds(Int64(wait) + 15))
            guard let task = try await client.nextTask(capability: capability, waitMs: Int(min(wait, 60) * 1000), leaseMs: Int(lease * 1000)) else {
                throw PlexusError(.notFound, "no task for '\(capability)' came in \(wait) s")
            }
            TaskCommand.print(task, json: global.json)
        }
    }
}

struct TaskProgressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "progress", abstract: "Report progress on a leased task.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The task id.")
    var id: String

    @Argument(help: "What has happened.")
    var message: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            TaskCommand.print(try await global.client().taskProgress(try TaskID.parse(id), message: message), json: global.json)
        }
    }
}

struct TaskResultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "result", abstract: "Post a leased task's result (JSON or text), or --error CODE with a message.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Fail the task with this error code; the argument is the message.")
    var error: String?

    @Argument(help: "The task id.")
    var id: String

    @Argument(help: "The result (JSON, or text), or the error message.")
    var value: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let outcome = error.map { TaskResultRequest(error: .init(code: $0, message: value)) }
                ?? TaskResultRequest(result: TaskCommand.payload(value))
            TaskCommand.print(try await global.client().finishTask(try TaskID.parse(id), with: outcome), json: global.json)
        }
    }
}

struct TasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks", abstract: "List tasks sent from this node (or with --received, received by it), newest first.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Tasks received by this node for its workers instead.")
    var received = false

    @Option(name: .long, help: "How many at most.")
    var limit = 100

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let tasks = try await global.client().tasks(limit: limit, role: received ? .worker : .caller)
            if global.json {
                Output.printJSON(tasks)
                return
            }
            if tasks.isEmpty { print("(no tasks)") }
            for task in tasks { print(TaskCommand.describe(task)) }
        }
    }
}

/// `plexus worker`: takes tasks for a capability from the running node and runs a command
/// for each, payload on stdin; its stdout (JSON, or text) is the result, a non-zero exit an
/// error. The command is stopped when the caller cancels or the deadline passes. A payload
/// that is a blob (`plexus task send --file`) is fetched and its bytes are the command's
/// stdin; a result over 32 KiB goes back as a blob.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run a command per task for a capability: payload on stdin, stdout is the result.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The capability to serve.")
    var capability: String

    @Option(name: .long, help: "The command (split into words like a shell would, never run by one).")
    var exec: String

    @Option(name: .long, help: "Tasks run at once.")
    var concurrency = 4

    @Option(name: .long, help: "Stop after this many tasks (default: run until interrupted).")
    var count: Int?

    func validate() throws {
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency is 1 to 64") }
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        try await reportingErrors(json: global.json) {
            let runner = try CommandRunner(command: exec)
            let client = try await global.client(timeout: .seconds(90))
            let quota = Quota(count)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<concurrency {
                    group.addTask { try await Self.serve(client, capability: capability, runner: runner, quota: quota) }
                }
                try await group.waitForAll()
            }
        }
    }

    /// Tasks left to take when `--count` is given.
    actor Quota {
        private var left: Int?

        init(_ count: Int?) { left = count }

        /// Claims one task; false when the count is used up.
        func claim() -> Bool {
            guard let remaining = left else { return true }
            guard remaining > 0 else { return false }
            left = remaining - 1
            return true
        }

        /// Gives back a claim that found no task.
        func release() {
            if let remaining = left { left = remaining + 1 }
        }
    }

    /// One lane: takes a task, runs the command, posts the outcome, while the quota lasts.
    static func serve(_ client: NodeClient, capability: String, runner: CommandRunner, quota: Quota) async throws {
        while await quota.claim() {
            guard let task = try await client.nextTask(capability: capability, waitMs: 30_000, leaseMs: 60_000) else {
                await quota.release()
                continue
            }
            let timeout = Duration.milliseconds(max(1, task.deadlineMs - Int64(Date().timeIntervalSince1970 * 1000)))
            let input: Data
            if let reference = BlobReference(in: task.payload) {
                do {
                    _ = try await client.fetchBlob(
                        reference.id, BlobFetchRequest(from: [task.caller], waitMs: Int(max(1, min(timeout.components.seconds * 1000, 3_600_000)))))
                    input = try await client.blobBytes(reference.id, limit: 1 << 30)
                } catch {
                    _ = try? await client.finishTask(
                        task.id, with: TaskResultRequest(error: .init(code: error.code.rawValue, message: "cannot fetch the payload blob: \(error.message)")))
                    continue
                }
            } else {
                input = (try? JSONEncoder.compact.encode(task.payload ?? .null)) ?? Data("null".utf8)
                    + Data("\n".utf8)
            }
            let work = Task { try await runner.run(input: input, timeout: timeout, capture: true) }
            // The caller may cancel: watch the task and stop the command if it ends meanwhile.
            let watcher = Task {
                while !Task.isCancelled {
                    guard let view = try? await client.task(task.id, waitMs: 30_000) else { return }
                    if view.state.isTerminal {
                        work.cancel()
                        return
                    }
                }
            }
            let outcome = try await work.value
            watcher.cancel()
            let result: TaskResultRequest
            if outcome.status == 0, !outcome.stopped, outcome.stdout.count > TaskCommand.inlineResultBytes {
                let blob = try await client.putBlob(outcome.stdout, pin: false)
                result = TaskResultRequest(result: BlobReference(id: blob.id, size: blob.size).attached(to: nil))
            } else if outcome.status == 0, !outcome.stopped {
                let text = String(decoding: outcome.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                result = TaskResultRequest(result: TaskCommand.payload(text))
            } else {
                let stderr = String(decoding: outcome.stderr.suffix(2000), as: UTF8.self)
                result = TaskResultRequest(error: .init(
                    code: outcome.stopped ? PlexusError.Code.timeout.rawValue : PlexusError.Code.dependencyError.rawValue,
                    message: outcome.stopped ? "the command was stopped" : "the command exited with \(outcome.status): \(stderr)"))
            }
            _ = try? await client.finishTask(task.id, with: result)
        }
    }
}
