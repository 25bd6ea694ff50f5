import Foundation
import PlexusCore

// The A2A 1.0 objects the gateway reads and writes, in their JSON form (ProtoJSON of the
// specification's `lf.a2a.v1` messages: camelCase names, enums as their full names, a oneof
// told apart by which member is present). Unknown members are ignored when reading.

/// A message between a client (`ROLE_USER`) and an agent (`ROLE_AGENT`).
public struct A2AMessage: Codable, Sendable, Equatable {
    public var messageId: String
    public var contextId: String?
    public var taskId: String?
    public var role: String
    public var parts: [A2APart]
    public var metadata: JSONValue?
    public var extensions: [String]?
    public var referenceTaskIds: [String]?

    public static let user = "ROLE_USER"
    public static let agent = "ROLE_AGENT"

    /// An agent's message of one text part, within a task.
    static func agentText(_ text: String, id: String, task: String, context: String) -> A2AMessage {
        A2AMessage(messageId: id, contextId: context, taskId: task, role: agent, parts: [A2APart(text: text)])
    }
}

/// One part of a message or artifact: exactly one of `text`, `raw` (base64), `url`, `data`.
public struct A2APart: Codable, Sendable, Equatable {
    public var text: String?
    public var raw: String?
    public var url: String?
    public var data: JSONValue?
    public var metadata: JSONValue?
    public var filename: String?
    public var mediaType: String?

    public init(text: String? = nil, data: JSONValue? = nil, mediaType: String? = nil) {
        self.text = text
        self.data = data
        self.mediaType = mediaType
    }

    /// How many of the content members are present (a valid part has one).
    var contents: Int {
        [text != nil, raw != nil, url != nil, data != nil].filter { $0 }.count
    }
}

/// A task as A2A shows it.
public struct A2ATask: Codable, Sendable, Equatable {
    public var id: String
    public var contextId: String
    public var status: A2ATaskStatus
    public var artifacts: [A2AArtifact]?
    public var history: [A2AMessage]?
    public var metadata: JSONValue?
}

public struct A2ATaskStatus: Codable, Sendable, Equatable {
    /// `TASK_STATE_…`.
    public var state: String
    public var message: A2AMessage?
    /// RFC 3339, UTC.
    public var timestamp: String?
}

public struct A2AArtifact: Codable, Sendable, Equatable {
    public var artifactId: String
    public var name: String?
    public var description: String?
    public var parts: [A2APart]
}

/// `TaskStatusUpdateEvent`.
public struct A2AStatusUpdate: Codable, Sendable, Equatable {
    public var taskId: String
    public var contextId: String
    public var status: A2ATaskStatus
}

/// `TaskArtifactUpdateEvent`.
public struct A2AArtifactUpdate: Codable, Sendable, Equatable {
    public var taskId: String
    public var contextId: String
    public var artifact: A2AArtifact
    public var lastChunk: Bool?
}

/// One event of a stream, or the result of `SendMessage` (then only `task` or `message`).
public struct A2AStreamResponse: Codable, Sendable, Equatable {
    public var task: A2ATask?
    public var message: A2AMessage?
    public var statusUpdate: A2AStatusUpdate?
    public var artifactUpdate: A2AArtifactUpdate?

    init(task: A2ATask) { self.task = task }
    init(statusUpdate: A2AStatusUpdate) { self.statusUpdate = statusUpdate }
    init(artifactUpdate: A2AArtifactUpdate) { self.artifactUpdate = artifactUpdate }
}

/// `SendMessageRequest` (the params of `SendMessage` and `SendStreamingMessage`).
struct A2ASendParams: Decodable {
    var message: A2AMessage
    var configuration: Configuration?
    var metadata: JSONValue?

    struct Configuration: Decodable {
        var acceptedOutputModes: [String]?
        var historyLength: Int?
        /// Answer at once with the task as it is; by default the answer waits for its end.
        var returnImmediately: Bool?
        var taskPushNotificationConfig: JSONValue?
    }
}

/// The params of `GetTask`, `CancelTask` and `SubscribeToTask`.
struct A2ATaskParams: Decodable {
    var id: String
    var historyLength: Int?
}

/// The params of `ListTasks`.
struct A2AListParams: Decodable {
    var contextId: String?
    var status: String?
    var pageSize: Int?
    var pageToken: String?
    var historyLength: Int?
}

/// The agent card served at `/.well-known/agent-card.json`.
public struct A2AAgentCard: Codable, Sendable, Equatable {
    public var name: String
    public var description: String
    public var version: String
    public var supportedInterfaces: [Interface]
    public var capabilities: Capabilities
    public var defaultInputModes: [String]
    public var defaultOutputModes: [String]
    public var skills: [Skill]
    public var securitySchemes: [String: SecurityScheme]
    public var securityRequirements: [SecurityRequirement]
    public var documentationUrl: String?

    public struct Interface: Codable, Sendable, Equatable {
        public var url: String
        public var protocolBinding: String
        public var protocolVersion: String
    }

    public struct Capabilities: Codable, Sendable, Equatable {
        public var streaming: Bool
        public var pushNotifications: Bool
        public var extendedAgentCard: Bool
    }

    public struct Skill: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var description: String
        public var tags: [String]
        public var examples: [String]?
        public var inputModes: [String]?
        public var outputModes: [String]?
    }

    public struct SecurityScheme: Codable, Sendable, Equatable {
        public var httpAuthSecurityScheme: HTTPAuth

        public struct HTTPAuth: Codable, Sendable, Equatable {
            public var scheme: String
            public var description: String?
        }
    }

    public struct SecurityRequirement: Codable, Sendable, Equatable {
        public var schemes: [String: Scopes]

        public struct Scopes: Codable, Sendable, Equatable {
            public var list: [String]
        }
    }
}

/// The A2A task states, one to one with Plexus's (DESIGN §8 uses A2A's lifecycle).
enum A2AState {
    static func name(_ state: TaskState) -> String {
        switch state {
        case .submitted: "TASK_STATE_SUBMITTED"
        case .working: "TASK_STATE_WORKING"
        case .inputRequired: "TASK_STATE_INPUT_REQUIRED"
        case .completed: "TASK_STATE_COMPLETED"
        case .failed: "TASK_STATE_FAILED"
        case .canceled: "TASK_STATE_CANCELED"
        case .rejected: "TASK_STATE_REJECTED"
        }
    }

    /// Whether a stream ends here: a terminal state, or one waiting for input.
    static func endsStream(_ state: TaskState) -> Bool {
        state.isTerminal || state == .inputRequired
    }
}
