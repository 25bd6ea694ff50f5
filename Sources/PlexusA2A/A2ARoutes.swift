import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat
import PlexusCore

/// The gateway's HTTP surface: the agent card (public, as A2A discovery expects) and one
/// JSON-RPC endpoint at `/` behind the bearer token. JSON-RPC errors are answered with
/// HTTP 200 (the A2A clients map their codes to typed errors); a missing or wrong token is
/// HTTP 401. Streams are server-sent events, one JSON-RPC response per event, closed when
/// the task ends.
struct A2ARoutes: Sendable {
    let gateway: A2AGateway
    let token: String
    let scheme: String
    /// The largest request body read.
    let maxBodyBytes: Int

    static let versionHeader = HTTPField.Name("A2A-Version")!

    func register(on router: Router<BasicRequestContext>) {
        router.get("/.well-known/agent-card.json") { request, _ in
            let card = await gateway.card(endpoint: endpoint(of: request))
            return Self.json(card)
        }
        router.post("/") { request, _ in
            await call(request)
        }
    }

    /// The URL of the JSON-RPC endpoint, as the client reached this server.
    private func endpoint(of request: Request) -> String {
        "\(scheme)://\(request.head.authority ?? "127.0.0.1")/"
    }

    // MARK: - JSON-RPC

    private func call(_ request: Request) async -> Response {
        guard authorized(request) else {
            var response = Self.rpc(id: .null, error: .invalidRequest("a bearer token is required (Authorization: Bearer …)"))
            response.status = .unauthorized
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            return Self.rpc(id: .null, error: .invalidRequest("the request is over \(maxBodyBytes) bytes"))
        }
        guard let value = try? JSONValue(parsing: Data(buffer: body)) else {
            return Self.rpc(id: .null, error: .parse("the body is not JSON"))
        }
        guard case .object(let fields) = value else {
            return Self.rpc(id: .null, error: .invalidRequest("a request is one JSON-RPC object (batches are not taken)"))
        }
        let id = fields["id"] ?? .null
        switch id {
        case .string, .integer, .null: break
        default: return Self.rpc(id: .null, error: .invalidRequest("id must be a string, an integer or null"))
        }
        guard fields["jsonrpc"] == .string("2.0"), case .string(let method)? = fields["method"] else {
            return Self.rpc(id: id, error: .invalidRequest("a JSON-RPC 2.0 request has jsonrpc \"2.0\" and a method"))
        }
        let version = request.headers[Self.versionHeader] ?? request.uri.queryParameters["A2A-Version"].map(String.init) ?? ""
        guard Self.supports(version) else { return Self.rpc(id: id, error: .versionNotSupported(version)) }
        let params = fields["params"] ?? .object([:])
        do throws(A2AError) {
            return try await dispatch(method, params: params, id: id)
        } catch {
            return Self.rpc(id: id, error: error)
        }
    }

    private func dispatch(_ method: String, params: JSONValue, id: JSONValue) async throws(A2AError) -> Response {
        switch method {
        case "SendMessage":
            let send: A2ASendParams = try Self.decode(params)
            let (view, sent) = try await gateway.send(send)
            var current = view
            if send.configuration?.returnImmediately != true {
                // Blocking, as A2A 1.0 asks by default: until the task ends or wants input.
                while !A2AState.endsStream(current.state) {
                    current = try await gateway.view(view.id, waitMs: WaitTime.maxMs, changedAfterMs: current.updatedMs)
                }
            }
            let task = A2AGateway.task(current, sent: sent, historyLength: send.configuration?.historyLength)
            return Self.rpc(id: id, result: .object(["task": try Self.value(task)]))
        case "SendStreamingMessage":
            let send: A2ASendParams = try Self.decode(params)
            let (view, sent) = try await gateway.send(send)
            return stream(view, sent: sent, id: id, historyLength: send.configuration?.historyLength)
        case "SubscribeToTask":
            let task: A2ATaskParams = try Self.decode(params)
            let (taskID, sent) = try await gateway.sent(task.id)
            let view = try await gateway.view(taskID)
            guard !view.state.isTerminal else { throw .unsupported("task \(task.id) has ended (\(view.state.rawValue)): get it with GetTask") }
            return stream(view, sent: sent, id: id, historyLength: task.historyLength)
        case "GetTask":
            let task: A2ATaskParams = try Self.decode(params)
            if let length = task.historyLength, length < 0 { throw .invalidParams("historyLength must not be negative") }
            let (taskID, sent) = try await gateway.sent(task.id)
            let view = try await gateway.view(taskID)
            return Self.rpc(id: id, result: try Self.value(A2AGateway.task(view, sent: sent, historyLength: task.historyLength)))
        case "CancelTask":
            let task: A2ATaskParams = try Self.decode(params)
            return Self.rpc(id: id, result: try Self.value(try await gateway.cancel(task.id)))
        case "ListTasks":
            let list: A2AListParams = try Self.decode(params)
            return Self.rpc(id: id, result: try await gateway.list(list))
        case "GetExtendedAgentCard":
            throw .unsupported("this gateway has no extended agent card")
        case "CreateTaskPushNotificationConfig", "GetTaskPushNotificationConfig", "ListTaskPushNotificationConfigs",
            "DeleteTaskPushNotificationConfig":
            throw .pushNotSupported
        default:
            throw .methodNotFound(method)
        }
    }

    /// Server-sent events following a task: the task first, then a status update per change
    /// (and the result's artifact before the completed status); closed when it ends. A
    /// comment line keeps an idle stream open and finds a client that has gone.
    private func stream(_ first: TaskView, sent: A2AGateway.Sent, id: JSONValue, historyLength: Int?) -> Response {
        let gateway = gateway
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await writer.write(Self.event(id: id, A2AStreamResponse(task: A2AGateway.task(first, sent: sent, historyLength: historyLength))))
            var current = first
            while !A2AState.endsStream(current.state) {
                let next: TaskView
                do throws(A2AError) {
                    next = try await gateway.view(first.id, waitMs: A2AGateway.followWaitMs, changedAfterMs: current.updatedMs)
                } catch {
                    try await writer.write(ByteBuffer(string: "event: error\ndata: \(Self.text(Self.envelope(id: id, error: error)))\n\n"))
                    break
                }
                guard next.updatedMs > current.updatedMs || next.state != current.state else {
                    try await writer.write(ByteBuffer(string: ": keepalive\n\n"))
                    continue
                }
                current = next
                let taskID = current.id.description
                if let artifact = A2AGateway.artifact(current) {
                    try await writer.write(Self.event(id: id, A2AStreamResponse(artifactUpdate: .init(
                        taskId: taskID, contextId: sent.contextId, artifact: artifact, lastChunk: true))))
                }
                try await writer.write(Self.event(id: id, A2AStreamResponse(statusUpdate: .init(
                    taskId: taskID, contextId: sent.contextId, status: A2AGateway.status(current, sent: sent)))))
            }
            try await writer.finish(nil)
        })
    }

    // MARK: - Helpers

    /// Whether the request carries the gateway's token (compared in constant time).
    private func authorized(_ request: Request) -> Bool {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return false }
        let given = SHA256.hash(data: Data(header.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8))
        let expected = SHA256.hash(data: Data(token.utf8))
        return given == expected
    }

    /// `A2A-Version` 1.x (the patch ignored).
    static func supports(_ version: String) -> Bool {
        version.split(separator: ".").first == "1"
    }

    static func decode<Params: Decodable>(_ params: JSONValue) throws(A2AError) -> Params {
        guard case .object = params else { throw .invalidParams("params must be an object") }
        do {
            return try JSONDecoder().decode(Params.self, from: JSONEncoder().encode(params))
        } catch let DecodingError.keyNotFound(key, context) {
            throw .invalidParams("params: missing '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw .invalidParams("params: '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch {
            throw .invalidParams("params do not match the method: \(error)")
        }
    }

    static func value(_ encodable: some Encodable) throws(A2AError) -> JSONValue {
        do {
            return try JSONValue(encoding: encodable)
        } catch {
            throw .internalError("cannot encode the answer: \(error)")
        }
    }

    static func envelope(id: JSONValue, result: JSONValue? = nil, error: A2AError? = nil) -> JSONValue {
        var fields: [String: JSONValue] = ["jsonrpc": .string("2.0"), "id": id]
        if let error { fields["error"] = error.json } else { fields["result"] = result ?? .null }
        return .object(fields)
    }

    static func text(_ value: JSONValue) -> String {
        String(decoding: (try? JSONEncoder.compact.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    static func event(id: JSONValue, _ response: A2AStreamResponse) -> ByteBuffer {
        let result = (try? JSONValue(encoding: response)) ?? .null
        return ByteBuffer(string: "data: \(text(envelope(id: id, result: result)))\n\n")
    }

    static func rpc(id: JSONValue, result: JSONValue? = nil, error: A2AError? = nil) -> Response {
        json(envelope(id: id, result: result, error: error))
    }

    static func json(_ value: some Encodable) -> Response {
        let data = (try? JSONEncoder.compact.encode(value)) ?? Data("{}".utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
