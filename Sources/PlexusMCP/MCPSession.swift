import Foundation
import PlexusCore

/// One MCP connection's state, whichever transport carries it: the version agreed in
/// `initialize`, and the requests still running, so `notifications/cancelled` and the end of
/// the session can stop them. Requests run concurrently: a tool call that waits (`next_task`
/// with `wait_ms`) does not hold up the calls after it.
///
/// A message is taken in two steps: `admit` (in arrival order) answers what needs no tool at
/// once and starts the rest; the caller then awaits the started request with `finish`.
public actor MCPSession {
    /// Tool and resource requests running at once; more are refused until one ends.
    /// `ping`, `initialize` and notifications are answered whatever is running.
    public static let maxRunning = 64

    /// What became of a message.
    public enum Admission: Sendable {
        /// Answered at once.
        case reply(Data)
        /// Not a message that can be taken (not JSON, not JSON-RPC): the refusal to send.
        case refused(Data)
        /// A notification or a response: nothing to send.
        case none
        /// Started: `finish(_:)` gives its reply.
        case started(Started)
        /// A batch (MCP 2025-03-26 and older): the task gives the array of replies, or nil
        /// when it held only notifications and responses.
        case batch(Task<Data?, Never>)
    }

    /// Versions whose JSON-RPC still has batches.
    static let versionsWithBatches: Set<String> = ["2025-03-26", "2024-11-05"]

    /// A request that is running.
    public struct Started: Sendable {
        let id: JSONValue
        let task: Task<Data, Never>
    }

    private let server: PlexusMCPServer
    /// The version agreed in `initialize`; nil until then.
    public private(set) var protocolVersion: String?
    private var running: [JSONValue: Task<Data, Never>] = [:]
    /// Requests the client cancelled: their replies are not sent where that can be avoided.
    private var cancelled: Set<JSONValue> = []
    private var closed = false

    public init(server: PlexusMCPServer) {
        self.server = server
    }

    /// How many requests are running.
    public var runningCount: Int { running.count }

    /// The answer to a message taken whole (`receive`).
    public enum Answer: Sendable {
        /// The reply (to a request or a batch).
        case reply(Data)
        /// Not a message that can be taken: the refusal to send.
        case refused(Data)
        /// A notification or a response, or a batch of only those: nothing to send.
        case none
    }

    /// Takes one message and answers it, waiting for it if it runs a tool.
    public func receive(_ message: Data) async -> Answer {
        switch admit(message) {
        case .reply(let reply): return .reply(reply)
        case .refused(let refusal): return .refused(refusal)
        case .none: return .none
        case .started(let started): return .reply(await finish(started).reply)
        case .batch(let task):
            guard let replies = await withTaskCancellationHandler(operation: { await task.value }, onCancel: { task.cancel() }) else { return .none }
            return .reply(replies)
        }
    }

    /// Takes one message in arrival order: answers at once what needs no tool, starts the rest.
    public func admit(_ message: Data) -> Admission {
        let document: JSONValue
        switch JSONRPCMessage.document(message) {
        case .failure(let refusal): return .refused(JSONRPCReply.error(id: refusal.id, refusal.error))
        case .success(let value): document = value
        }
        if case .array(let members) = document, let version = protocolVersion, Self.versionsWithBatches.contains(version) {
            return batch(members)
        }
        return admit(document)
    }

    private func admit(_ document: JSONValue) -> Admission {
        let parsed: JSONRPCMessage
        switch JSONRPCMessage.classify(document) {
        case .failure(let refusal):
            return .refused(JSONRPCReply.error(id: refusal.id, refusal.error))
        case .success(let message):
            parsed = message
        }
        switch parsed {
        case .response:
            return .none
        case .notification(let method, let params):
            if method == "notifications/cancelled", let id = params?.objectValue?["requestId"], let task = running[id] {
                cancelled.insert(id)
                task.cancel()
            }
            return .none
        case .request(let id, let method, let params):
            return request(id: id, method: method, params: params)
        }
    }

    /// Takes each member of a batch (JSON-RPC 2.0 §6): one array of the replies, in the
    /// order of the requests; an empty batch is one error.
    private func batch(_ members: [JSONValue]) -> Admission {
        guard !members.isEmpty else { return .refused(JSONRPCReply.error(id: nil, .invalidRequest("an empty batch"))) }
        var admissions: [Admission] = []
        for member in members {
            if case .array = member {
                admissions.append(.refused(JSONRPCReply.error(id: nil, .invalidRequest("a batch inside a batch"))))
            } else {
                admissions.append(admit(member))
            }
        }
        let task = Task { [admissions] in
            var replies: [Data] = []
            for admission in admissions {
                switch admission {
                case .reply(let reply), .refused(let reply): replies.append(reply)
                case .started(let started): replies.append(await self.finish(started).reply)
                case .none, .batch: break
                }
            }
            guard !replies.isEmpty else { return nil as Data? }
            return Data("[".utf8) + Data(replies.joined(separator: Data(",".utf8))) + Data("]".utf8)
        }
        return .batch(task)
    }

    /// The reply of a started request, once it has ended, and whether the client cancelled
    /// it (a transport that can leave the reply out does).
    public func finish(_ started: Started) async -> (reply: Data, cancelledByClient: Bool) {
        let task = started.task
        let reply = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        running[started.id] = nil
        return (reply, cancelled.remove(started.id) != nil)
    }

    /// Ends the session: running requests are cancelled and later ones refused.
    public func close() {
        closed = true
        for task in running.values { task.cancel() }
    }

    private func request(id: JSONValue, method: String, params: JSONValue?) -> Admission {
        if closed { return .reply(JSONRPCReply.error(id: id, .invalidRequest("the session has ended"))) }
        switch method {
        case "ping":
            return .reply(JSONRPCReply.result(id: id, Data("{}".utf8)))
        case "initialize":
            guard protocolVersion == nil else { return .reply(JSONRPCReply.error(id: id, .invalidRequest("the session is already initialized"))) }
            let asked = params?.objectValue?["protocolVersion"]
            let version = PlexusMCPServer.protocolVersions.first { .string($0) == asked } ?? PlexusMCPServer.protocolVersions[0]
            protocolVersion = version
            return .reply(JSONRPCReply.result(id: id, PlexusMCPServer.initializeResult(version: version)))
        default:
            break
        }
        guard protocolVersion != nil else { return .reply(JSONRPCReply.error(id: id, .invalidRequest("send 'initialize' first"))) }
        guard running[id] == nil else { return .reply(JSONRPCReply.error(id: id, .invalidRequest("a request with this id is still running"))) }
        guard running.count < Self.maxRunning else {
            return .reply(JSONRPCReply.error(
                id: id, MCPError(code: -32000, "overloaded: \(Self.maxRunning) requests are running in this session; retry when one has ended")))
        }
        let server = server
        let task = Task {
            do throws(MCPError) {
                return JSONRPCReply.result(id: id, try await server.respond(method: method, params: params))
            } catch {
                return JSONRPCReply.error(id: id, error)
            }
        }
        running[id] = task
        return .started(Started(id: id, task: task))
    }
}
