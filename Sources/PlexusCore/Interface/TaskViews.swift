import Foundation

/// A task's identifier: 16 random bytes chosen by the caller, shown as 32 hex characters.
/// Kept as two words, so that hashing and comparing one (every task message looks a task
/// up several times) costs two word operations and no heap array.
public struct TaskID: Hashable, Sendable, Codable, CustomStringConvertible {
    private let high: UInt64
    private let low: UInt64

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        self = bytes.withContiguousStorageIfAvailable { TaskID(raw: UnsafeRawBufferPointer($0)) }
            ?? Array(bytes).withUnsafeBytes { TaskID(raw: $0) }
    }

    /// From the wire (a protobuf `bytes` field), without going through a generic collection.
    public init?(bytes: Data) {
        guard bytes.count == 16 else { return nil }
        self = bytes.withUnsafeBytes { TaskID(raw: $0) }
    }

    /// The two big-endian words of 16 bytes.
    init(raw: UnsafeRawBufferPointer) {
        high = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        low = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    }

    /// The 16 bytes.
    public var bytes: [UInt8] {
        (0..<16).map { index in UInt8(truncatingIfNeeded: (index < 8 ? high : low) >> (56 - 8 * UInt64(index % 8))) }
    }

    /// A fresh random id.
    public static func random() -> TaskID {
        RandomBytes.take(16).withUnsafeBytes { TaskID(raw: $0) }
    }

    public static func parse(_ text: String) throws(PlexusError) -> TaskID {
        guard text.count == 32, let bytes = Hex.decode(text), let id = TaskID(bytes: bytes) else {
            throw PlexusError(.invalidArgument, "not a task id: '\(text.prefix(80))' (expected 32 hex characters)")
        }
        return id
    }

    public var description: String { Hex.encode(bytes) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let bytes = Hex.decode(text), let id = TaskID(bytes: bytes) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a task id"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A task's state, as A2A names them.
public enum TaskState: String, Codable, Sendable {
    case submitted, working, inputRequired = "input-required", completed, failed, canceled, rejected

    /// Whether the task is over.
    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .canceled, .rejected: true
        case .submitted, .working, .inputRequired: false
        }
    }
}

/// A task as the API shows it, to its caller and to its worker.
public struct TaskView: Codable, Sendable, Equatable {
    /// A change's `updated_ms`: now, but always after the previous change's, so a watcher
    /// waiting for a change after the `updated_ms` it saw (`after_ms`) never misses one.
    public static func changeTime(after previous: Int64, _ nowMs: Int64) -> Int64 {
        max(nowMs, previous + 1)
    }

    /// Which side of the task this node is on.
    public enum Role: String, Codable, Sendable { case caller, worker }

    /// Why a task failed or was rejected.
    public struct Failure: Codable, Sendable, Equatable {
        public var code: String
        public var message: String

        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    public var id: TaskID
    public var role: Role
    public var caller: AgentID
    public var worker: AgentID?
    public var capability: String
    public var state: TaskState
    public var payload: JSONValue?
    public var result: JSONValue?
    public var error: Failure?
    /// The latest progress message.
    public var message: String?
    public var createdMs: Int64
    public var updatedMs: Int64
    public var deadlineMs: Int64
    /// For a leased task (worker side): when the lease runs out and the task is handed out again.
    public var leaseExpiresMs: Int64?
    /// For the worker: how many times the task was handed out.
    public var deliveries: Int?

    public init(
        id: TaskID, role: Role, caller: AgentID, worker: AgentID?, capability: String, state: TaskState,
        payload: JSONValue?, createdMs: Int64, deadlineMs: Int64
    ) {
        self.id = id
        self.role = role
        self.caller = caller
        self.worker = worker
        self.capability = capability
        self.state = state
        self.payload = payload
        self.createdMs = createdMs
        self.updatedMs = createdMs
        self.deadlineMs = deadlineMs
    }

    enum CodingKeys: String, CodingKey {
        case id, role, caller, worker, capability, state, payload, result, error, message
        case createdMs = "created_ms", updatedMs = "updated_ms", deadlineMs = "deadline_ms"
        case leaseExpiresMs = "lease_expires_ms", deliveries
    }
}

/// The body of `POST /v1/tasks`: work for one agent (`to`) or for any agent offering
/// `capability` (then the capability is also what the worker is asked for).
public struct SendTaskRequest: Codable, Sendable, Equatable {
    public var to: AgentID?
    public var capability: String
    public var payload: JSONValue
    /// The task fails with `timeout` this long after it is sent (default 60 s, at most 1 h).
    public var timeoutMs: Int?
    /// Wait up to this long for the task to finish before answering (0–60000).
    public var waitMs: Int?
    /// Conditions on the worker's announced resources, labels and offers (`Requirement`).
    public var require: [String]?

    public init(
        to: AgentID? = nil, capability: String, payload: JSONValue, timeoutMs: Int? = nil, waitMs: Int? = nil,
        require: [String]? = nil
    ) {
        self.require = require
        self.to = to
        self.capability = capability
        self.payload = payload
        self.timeoutMs = timeoutMs
        self.waitMs = waitMs
    }

    enum CodingKeys: String, CodingKey {
        case to, capability, payload, require, timeoutMs = "timeout_ms", waitMs = "wait_ms"
    }

    public static let defaultTimeoutMs = 60_000
    public static let maxTimeoutMs = 3_600_000

    /// The task's timeout and how long to wait for it, with every field checked.
    public func validated() throws(PlexusError) -> (timeoutMs: Int, wait: Duration) {
        let timeoutMs = timeoutMs ?? Self.defaultTimeoutMs
        guard (1...Self.maxTimeoutMs).contains(timeoutMs) else {
            throw PlexusError(.invalidArgument, "timeout_ms must be between 1 and \(Self.maxTimeoutMs)")
        }
        let wait = try WaitTime.duration(ms: waitMs)
        try Capability.check(capability)
        _ = try requirements()
        return (timeoutMs, wait)
    }

    /// Most conditions on one task.
    public static let maxRequirements = 32

    /// `require`, read (`invalidArgument` for one that does not parse, or too many).
    public func requirements() throws(PlexusError) -> [Requirement] {
        let texts = require ?? []
        guard texts.count <= Self.maxRequirements else {
            throw PlexusError(.invalidArgument, "a task has at most \(Self.maxRequirements) requirements")
        }
        return try texts.map { text throws(PlexusError) in try Requirement.parse(text) }
    }
}

/// A capability (skill) name: what a task asks for and what an agent offers.
public enum Capability {
    /// Longest name, in Unicode scalars (what JSON Schema's `maxLength` counts).
    public static let maxCharacters = 128

    /// `invalidArgument` unless `name` is 1 to `maxCharacters` Unicode scalars.
    public static func check(_ name: String) throws(PlexusError) {
        guard isValid(name) else {
            throw PlexusError(.invalidArgument, "capability must be 1 to \(maxCharacters) characters")
        }
    }

    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.count <= maxCharacters
    }
}

/// A worker's progress note on a task it holds.
public enum TaskProgress {
    public static let maxBytes = 4096

    /// `tooLarge` if `message` is longer than 4096 bytes.
    public static func check(_ message: String) throws(PlexusError) {
        guard message.utf8.count <= maxBytes else {
            throw PlexusError(.tooLarge, "a progress message is at most \(maxBytes) bytes")
        }
    }
}

/// The body of `POST /v1/tasks/{id}/result`: a result, or an error.
public struct TaskResultRequest: Codable, Sendable, Equatable {
    public var result: JSONValue?
    public var error: TaskView.Failure?

    public init(result: JSONValue? = nil, error: TaskView.Failure? = nil) {
        self.result = result
        self.error = error
    }

    /// `invalidArgument` when both a result and an error are given.
    public func validate() throws(PlexusError) {
        guard result == nil || error == nil else {
            throw PlexusError(.invalidArgument, "give a result or an error, not both")
        }
    }
}
