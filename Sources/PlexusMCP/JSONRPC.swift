import Foundation
import PlexusCore

/// A JSON-RPC 2.0 error as MCP uses it: a code and a message for the client.
public struct MCPError: Error, Sendable, Equatable {
    public var code: Int
    public var message: String

    public init(code: Int, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message is not JSON.
    public static func parseError(_ message: String) -> MCPError { MCPError(code: -32700, message) }
    /// The message is JSON but not a valid request.
    public static func invalidRequest(_ message: String) -> MCPError { MCPError(code: -32600, message) }
    /// No such method.
    public static func methodNotFound(_ message: String) -> MCPError { MCPError(code: -32601, message) }
    /// The method exists but its parameters are wrong (also: an unknown tool or resource).
    public static func invalidParams(_ message: String) -> MCPError { MCPError(code: -32602, message) }
    /// The server could not answer for reasons of its own.
    public static func internalError(_ message: String) -> MCPError { MCPError(code: -32603, message) }
}

/// One incoming JSON-RPC message, classified (JSON-RPC 2.0 §4–5).
enum JSONRPCMessage: Sendable {
    /// A call that wants an answer; `id` is a string or an integer.
    case request(id: JSONValue, method: String, params: JSONValue?)
    /// A call without an id: no answer is sent.
    case notification(method: String, params: JSONValue?)
    /// A reply to something the server asked; Plexus asks nothing, so these are dropped.
    case response

    /// Parses one message; the error carries the id when one could be read, so the
    /// refusal can be matched to its request. A batch (an array) is refused here: sessions
    /// that agreed on a version with batches take it apart with `document` first.
    static func parse(_ data: Data) -> Result<JSONRPCMessage, Refusal> {
        document(data).flatMap(classify)
    }

    /// The JSON value of a message's text.
    static func document(_ data: Data) -> Result<JSONValue, Refusal> {
        do {
            return .success(try JSONValue(parsing: data))
        } catch {
            return .failure(Refusal(id: nil, error: .parseError("not JSON: \(error.message)")))
        }
    }

    /// Classifies one parsed message.
    static func classify(_ value: JSONValue) -> Result<JSONRPCMessage, Refusal> {
        guard case .object(let members) = value else {
            if case .array = value {
                return .failure(Refusal(id: nil, error: .invalidRequest("JSON-RPC batches are only taken in sessions on MCP 2025-03-26 or older (2025-06-18 removed them); send one message at a time")))
            }
            return .failure(Refusal(id: nil, error: .invalidRequest("a JSON-RPC message is an object")))
        }
        let id = members["id"]
        switch id {
        case nil, .string?, .integer?: break
        default: return .failure(Refusal(id: nil, error: .invalidRequest("'id' must be a string or an integer")))
        }
        guard members["jsonrpc"] == .string("2.0") else {
            return .failure(Refusal(id: id, error: .invalidRequest("'jsonrpc' must be \"2.0\"")))
        }
        let params = members["params"]
        switch params {
        case nil, .object?: break
        default: return .failure(Refusal(id: id, error: .invalidRequest("'params' must be an object")))
        }
        switch (members["method"], id) {
        case (.string(let method)?, let id?): return .success(.request(id: id, method: method, params: params))
        case (.string(let method)?, nil): return .success(.notification(method: method, params: params))
        case (nil, _?) where members["result"] != nil || members["error"] != nil: return .success(.response)
        default: return .failure(Refusal(id: id, error: .invalidRequest("a JSON-RPC message needs a 'method' (a string)")))
        }
    }

    /// A message that could not be accepted, and the id to answer under.
    struct Refusal: Error {
        var id: JSONValue?
        var error: MCPError
    }
}

/// Writes JSON-RPC replies. Results arrive as compact JSON already, and are spliced in
/// as they are rather than parsed and encoded again.
enum JSONRPCReply {
    static func result(id: JSONValue, _ result: Data) -> Data {
        var reply = Data(#"{"jsonrpc":"2.0","id":"#.utf8)
        reply.append(id.canonicalData())
        reply.append(contentsOf: #","result":"#.utf8)
        reply.append(result)
        reply.append(UInt8(ascii: "}"))
        return reply
    }

    /// An error reply; without `id` when the request's could not be read (MCP 2025-11-25
    /// leaves it out then; clients' schemas refuse a null id).
    static func error(id: JSONValue?, _ error: MCPError) -> Data {
        var reply = Data(#"{"jsonrpc":"2.0","#.utf8)
        if let id {
            reply.append(contentsOf: #""id":"#.utf8)
            reply.append(id.canonicalData())
            reply.append(UInt8(ascii: ","))
        }
        reply.append(contentsOf: #""error":{"code":"#.utf8)
        reply.append(contentsOf: String(error.code).utf8)
        reply.append(contentsOf: #","message":"#.utf8)
        reply.append(JSONValue.string(error.message).canonicalData())
        reply.append(contentsOf: "}}".utf8)
        return reply
    }

    /// Compact JSON for a fixed result document.
    static func encode(_ value: some Encodable) -> Data {
        // The documents encoded here hold only strings, numbers, booleans and JSONValues.
        (try? JSONEncoder.compact.encode(value)) ?? Data("{}".utf8)
    }
}
