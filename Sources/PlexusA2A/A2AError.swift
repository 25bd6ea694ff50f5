import PlexusCore

/// A JSON-RPC error as A2A 1.0 defines them: the standard codes and the A2A ones, each
/// with the `reason` its `ErrorInfo` detail carries.
public struct A2AError: Error, Sendable, Equatable {
    public let code: Int
    public let reason: String
    public let message: String

    init(_ code: Int, _ reason: String, _ message: String) {
        self.code = code
        self.reason = reason
        self.message = message
    }

    static func parse(_ message: String) -> A2AError { A2AError(-32700, "PARSE_ERROR", message) }
    static func invalidRequest(_ message: String) -> A2AError { A2AError(-32600, "INVALID_REQUEST", message) }
    static func methodNotFound(_ method: String) -> A2AError {
        A2AError(-32601, "METHOD_NOT_FOUND", "no method '\(method.prefix(80))' (A2A 1.0 methods: \(A2AMethods.names.joined(separator: ", ")))")
    }
    static func invalidParams(_ message: String) -> A2AError { A2AError(-32602, "INVALID_PARAMS", message) }
    static func internalError(_ message: String) -> A2AError { A2AError(-32603, "INTERNAL", message) }
    static func taskNotFound(_ id: String) -> A2AError {
        A2AError(-32001, "TASK_NOT_FOUND", "no task '\(id.prefix(80))' was sent through this gateway")
    }
    static func taskNotCancelable(_ id: String, _ state: TaskState) -> A2AError {
        A2AError(-32002, "TASK_NOT_CANCELABLE", "task \(id) has ended (\(state.rawValue))")
    }
    static let pushNotSupported = A2AError(-32003, "PUSH_NOTIFICATION_NOT_SUPPORTED", "push notifications are not supported: stream or poll the task")
    static func unsupported(_ message: String) -> A2AError { A2AError(-32004, "UNSUPPORTED_OPERATION", message) }
    static func versionNotSupported(_ version: String) -> A2AError {
        A2AError(
            -32009, "VERSION_NOT_SUPPORTED",
            version.isEmpty
                ? "no A2A-Version header (that means 0.3); this gateway speaks A2A 1.0: send A2A-Version: 1.0"
                : "A2A version '\(version.prefix(20))' is not supported; this gateway speaks 1.0")
    }

    /// A node error met while serving a method, as the caller should see it.
    static func from(_ error: PlexusError) -> A2AError {
        switch error.code {
        case .notFound: A2AError(-32001, "TASK_NOT_FOUND", error.message)
        case .noRoute, .invalidArgument, .invalidJSON, .tooLarge, .peerUnreachable:
            invalidParams("\(error.code.rawValue): \(error.message)")
        default: internalError("\(error.code.rawValue): \(error.message)")
        }
    }

    /// The `error` member of a JSON-RPC response.
    var json: JSONValue {
        .object([
            "code": .integer(Int64(code)),
            "message": .string(message),
            "data": .array([
                .object([
                    "@type": .string("type.googleapis.com/google.rpc.ErrorInfo"),
                    "reason": .string(reason),
                    "domain": .string("a2a-protocol.org"),
                    "metadata": .object([:]),
                ])
            ]),
        ])
    }
}

/// The JSON-RPC methods of A2A 1.0.
enum A2AMethods {
    static let names = [
        "SendMessage", "SendStreamingMessage", "GetTask", "ListTasks", "CancelTask", "SubscribeToTask", "GetExtendedAgentCard",
        "CreateTaskPushNotificationConfig", "GetTaskPushNotificationConfig", "ListTaskPushNotificationConfigs",
        "DeleteTaskPushNotificationConfig",
    ]
}
