import Foundation
import PlexusCore

/// One MCP connection's state, whichever transport carries it: the version agreed in
/// `initialize`, and the requests still running, so `notifications/cancelled` and the end of
/// the session can stop them. Requests run concurrently: a tool call that waits (`next_task`
/// with `wait_ms`) does not hold up the calls after it.
public actor MCPSession {
    /// Requests running at once; more are refused until one ends.
    public static let maxRunning = 64

    private let server: PlexusMCPServer
    /// The version agreed in `initialize`; nil until then.
    public private(set) var protocolVersion: String?
    private var running: [JSONValue: Task<Data, Never>] = [:]
    private var closed = false

    public init(server: PlexusMCPServer) {
        self.server = server
    }

    /// Handles one message; the reply to send, or nil for notifications and responses.
    public func receive(_ message: Data) async -> Data? {
        switch JSONRPCMessage.parse(message) {
        case .failure(let refusal):
            return JSONRPCReply.error(id: refusal.id, refusal.error)
        case .success(.response):
            return nil
        case .success(.notification(let method, let params)):
            if method == "notifications/cancelled", let id = params?.objectValue?["requestId"] {
                running[id]?.cancel()
            }
            return nil
        case .success(.request(let id, let method, let params)):
            return await request(id: id, method: method, params: params)
        }
    }

    /// How many requests are running.
    public var runningCount: Int { running.count }

    /// Ends the session: running requests are cancelled and later ones refused.
    public func close() {
        closed = true
        for task in running.values { task.cancel() }
    }

    private func request(id: JSONValue, method: String, params: JSONValue?) async -> Data {
        if closed { return JSONRPCReply.error(id: id, .invalidRequest("the session has ended")) }
        if method == "initialize" {
            guard protocolVersion == nil else { return JSONRPCReply.error(id: id, .invalidRequest("the session is already initialized")) }
            let asked = params?.objectValue?["protocolVersion"]
            let version = PlexusMCPServer.protocolVersions.first { .string($0) == asked } ?? PlexusMCPServer.protocolVersions[0]
            protocolVersion = version
            return JSONRPCReply.result(id: id, PlexusMCPServer.initializeResult(version: version))
        }
        guard protocolVersion != nil || method == "ping" else {
            return JSONRPCReply.error(id: id, .invalidRequest("send 'initialize' first"))
        }
        guard running[id] == nil else { return JSONRPCReply.error(id: id, .invalidRequest("a request with this id is still running")) }
        guard running.count < Self.maxRunning else {
            return JSONRPCReply.error(id: id, MCPError(code: -32000, "overloaded: \(Self.maxRunning) requests are running in this session; retry when one has ended"))
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
        let reply = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        running[id] = nil
        return reply
    }
}
