import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat
import PlexusCore

/// The gateway's HTTP surface: the agent card (public, as A2A discovery expects), the
/// JSON-RPC binding at `/` and the HTTP+JSON binding (`/message:send`, `/tasks/{id}`, …),
/// both behind the bearer token. JSON-RPC errors are answered with HTTP 200 (the A2A clients
/// map their codes to typed errors); HTTP+JSON errors with the HTTP status of their kind and
/// a `google.rpc.Status` body. A missing or wrong token is HTTP 401. Streams are server-sent
/// events, closed when the task ends.
struct A2ARoutes: Sendable {
    let gateway: A2AGateway
    let token: String
    let scheme: String
    /// The largest request body read.
    let maxBodyBytes: Int

    static let versionHeader = HTTPField.Name("A2A-Version")!

    /// What a method gives: a value, or a task to follow as a stream.
    enum Outcome {
        case value(JSONValue)
        case stream(TaskView, A2AGateway.Sent, historyLength: Int?)
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get("/.well-known/agent-card.json") { request, _ in
            Self.json(await gateway.card(base: "\(scheme)://\(request.head.authority ?? "127.0.0.1")"))
        }
        router.post("/") { request, _ in await call(request) }
        router.post("/message:send") { request, _ in await rest(request, "SendMessage", params: nil) }
        router.post("/message:stream") { request, _ in await rest(request, "SendStreamingMessage", params: nil) }
        router.get("/tasks") { request, _ in
            let query = request.uri.queryParameters
            var params: [String: JSONValue] = [:]
            for key in ["contextId", "status", "pageToken"] { if let value = query[Substring(key)] { params[key] = .string(String(value)) } }
            for key in ["pageSize", "historyLength"] {
                if let value = query[Substring(key)] { params[key] = Int64(value).map(JSONValue.integer) ?? .string(String(value)) }
            }
            return await rest(request, "ListTasks", params: .object(params))
        }
        router.get("/tasks/{task}") { request, context in
            let task = context.parameters.get("task") ?? ""
            if task.hasSuffix(":subscribe") { return await rest(request, "SubscribeToTask", params: .object(["id": .string(String(task.dropLast(10)))])) }
            var params: [String: JSONValue] = ["id": .string(task)]
            if let length = request.uri.queryParameters["historyLength"] {
                params["historyLength"] = Int64(length).map(JSONValue.integer) ?? .string(String(length))
            }
            return await rest(request, "GetTask", params: .object(params))
        }
        router.post("/tasks/{task}") { request, context in
            let task = context.parameters.get("task") ?? ""
            for (verb, method) in [(":cancel", "CancelTask"), (":subscribe", "SubscribeToTask")] where task.hasSuffix(verb) {
                return await rest(request, method, params: .object(["id": .string(String(task.dropLast(verb.count)))]))
            }
            return Self.restError(.methodNotFound("POST /tasks/\(task)"))
        }
        router.get("/extendedAgentCard") { request, _ in await rest(request, "GetExtendedAgentCard", params: .object([:])) }
    }

    // MARK: - JSON-RPC

    private func call(_ request: Request) async -> Response {
        guard authorized(request) else {
            var response = Self.rpc(id: .null, error: .invalidRequest("a bearer token is required (Authorization: Bearer …)"))
            response.status = .unauthorized
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        let value: JSONValue
        do throws(A2AError) {
            value = try await body(of: request)
        } catch {
            return Self.rpc(id: .null, error: error)
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
        do throws(A2AError) {
            try Self.checkVersion(request)
            switch try await perform(method, params: fields["params"] ?? .object([:])) {
            case .value(let result):
                return Self.rpc(id: id, result: result)
            case .stream(let view, let sent, let historyLength):
                return stream(view, sent: sent, historyLength: historyLength) { response in
                    Self.text(Self.envelope(id: id, result: (try? JSONValue(encoding: response)) ?? .null))
                } error: { error in
                    Self.text(Self.envelope(id: id, error: error))
                }
            }
        } catch {
            return Self.rpc(id: id, error: error)
        }
    }

    // MARK: - HTTP+JSON

    /// A call of the HTTP+JSON binding: `params` from the path and query, or the body.
    private func rest(_ request: Request, _ method: String, params: JSONValue?) async -> Response {
        guard authorized(request) else {
            var response = Self.restError(A2AError(-32600, "UNAUTHENTICATED", "a bearer token is required (Authorization: Bearer …)"), status: .unauthorized)
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        do throws(A2AError) {
            try Self.checkVersion(request)
            let given: JSONValue
            if let params { given = params } else { given = try await body(of: request) }
            switch try await perform(method, params: given) {
            case .value(let result):
                return Self.json(result)
            case .stream(let view, let sent, let historyLength):
                return stream(view, sent: sent, historyLength: historyLength) { response in
                    Self.text((try? JSONValue(encoding: response)) ?? .null)
                } error: { error in
                    Self.text(Self.status(of: error).body)
                }
            }
        } catch {
            return Self.restError(error)
        }
    }

    // MARK: - Methods

    private func perform(_ method: String, params: JSONValue) async throws(A2AError) -> Outcome {
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
            return .value(.object(["task": try Self.value(task)]))
        case "SendStreamingMessage":
            let send: A2ASendParams = try Self.decode(params)
            let (view, sent) = try await gateway.send(send)
            return .stream(view, sent, historyLength: send.configuration?.historyLength)
        case "SubscribeToTask":
            let task: A2ATaskParams = try Self.decode(params)
            let (taskID, sent) = try await gateway.sent(task.id)
            let view = try await gateway.view(taskID)
            guard !view.state.isTerminal else { throw .unsupported("task \(task.id) has ended (\(view.state.rawValue)): get it with GetTask") }
            return .stream(view, sent, historyLength: task.historyLength)
        case "GetTask":
            let task: A2ATaskParams = try Self.decode(params)
            if let length = task.historyLength, length < 0 { throw .invalidParams("historyLength must not be negative") }
            let (taskID, sent) = try await gateway.sent(task.id)
            let view = try await gateway.view(taskID)
            return .value(try Self.value(A2AGateway.task(view, sent: sent, historyLength: task.historyLength)))
        case "CancelTask":
            let task: A2ATaskParams = try Self.decode(params)
            return .value(try Self.value(try await gateway.cancel(task.id)))
        case "ListTasks":
            let list: A2AListParams = try Self.decode(params)
            return .value(try await gateway.list(list))
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
    /// comment line keeps an idle stream open and finds a client that has gone. `encode`
    /// gives an event's data in the binding's form, `failure` an error's.
    private func stream(
        _ first: TaskView, sent: A2AGateway.Sent, historyLength: Int?,
        encode: @escaping @Sendable (A2AStreamResponse) -> String, error failure: @escaping @Sendable (A2AError) -> String
    ) -> Response {
        let gateway = gateway
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            func send(_ response: A2AStreamResponse) async throws {
                try await writer.write(ByteBuffer(string: "data: \(encode(response))\n\n"))
            }
            try await send(A2AStreamResponse(task: A2AGateway.task(first, sent: sent, historyLength: historyLength)))
            var current = first
            while !A2AState.endsStream(current.state) {
                let next: TaskView
                do throws(A2AError) {
                    next = try await gateway.view(first.id, waitMs: A2AGateway.followWaitMs, changedAfterMs: current.updatedMs)
                } catch {
                    try await writer.write(ByteBuffer(string: "event: error\ndata: \(failure(error))\n\n"))
                    break
                }
                guard next.updatedMs > current.updatedMs || next.state != current.state else {
                    try await writer.write(ByteBuffer(string: ": keepalive\n\n"))
                    continue
                }
                current = next
                let taskID = current.id.description
                if let artifact = A2AGateway.artifact(current) {
                    try await send(A2AStreamResponse(artifactUpdate: .init(taskId: taskID, contextId: sent.contextId, artifact: artifact, lastChunk: true)))
                }
                try await send(A2AStreamResponse(statusUpdate: .init(taskId: taskID, contextId: sent.contextId, status: A2AGateway.status(current, sent: sent))))
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

    /// The request body as JSON, at most `maxBodyBytes`.
    private func body(of request: Request) async throws(A2AError) -> JSONValue {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            throw .invalidRequest("the request is over \(maxBodyBytes) bytes")
        }
        guard let value = try? JSONValue(parsing: Data(buffer: body)) else { throw .parse("the body is not JSON") }
        return value
    }

    /// `A2A-Version` (header, or query parameter) must be 1.x, the patch ignored; none means 0.3.
    static func checkVersion(_ request: Request) throws(A2AError) {
        let version = request.headers[versionHeader] ?? request.uri.queryParameters["A2A-Version"].map(String.init) ?? ""
        guard version.split(separator: ".").first == "1" else { throw .versionNotSupported(version) }
    }

    /// An error of the HTTP+JSON binding: its HTTP status and `google.rpc.Status` body.
    static func status(of error: A2AError) -> (status: HTTPResponse.Status, body: JSONValue) {
        let (status, name): (HTTPResponse.Status, String) =
            switch error.code {
            case -32001, -32601: (.notFound, "NOT_FOUND")
            case -32002: (.conflict, "FAILED_PRECONDITION")
            case -32003, -32004: (.badRequest, "UNIMPLEMENTED")
            case -32603: (.internalServerError, "INTERNAL")
            default: (.badRequest, "INVALID_ARGUMENT")
            }
        guard case .object(var fields) = error.json else { return (status, .null) }
        fields["details"] = fields.removeValue(forKey: "data")
        fields["code"] = .integer(Int64(status.code))
        fields["status"] = .string(name)
        return (status, .object(["error": .object(fields)]))
    }

    static func restError(_ error: A2AError, status forced: HTTPResponse.Status? = nil) -> Response {
        let (status, body) = status(of: error)
        var response = json(body)
        response.status = forced ?? status
        return response
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
