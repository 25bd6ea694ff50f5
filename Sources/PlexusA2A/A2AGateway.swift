import Foundation
import PlexusCore
import PlexusNode

/// The A2A side of Plexus tasks: an A2A message naming a skill becomes a Plexus task routed
/// into the mesh (any agent offering that capability, or the one named); the task's state,
/// progress and result come back as A2A status, status messages and an artifact.
///
/// A client names the skill in `metadata.skill` (of the request or the message; A2A 1.0
/// has no field for it), and may add `metadata.agent` (an agent id), `metadata.require`
/// (requirements, as `plexus task send --require`) and `metadata.timeoutMs`. Without a
/// skill, the only one the card lists is used. Only tasks sent through this gateway are
/// seen through it: another task's id is `TaskNotFound`. The gateway remembers the newest
/// `maxRemembered` of them (in memory: a restart forgets them, not the tasks).
public actor A2AGateway {
    static let maxRemembered = 10_000
    /// One wait for a change while a stream follows a task; a keepalive is sent between.
    static let followWaitMs = 15_000

    let service: LocalNodeService
    let settings: A2ASettings
    private var remembered: [TaskID: Sent] = [:]
    private var order: [TaskID] = []

    /// What the gateway keeps of a task sent through it.
    struct Sent: Sendable {
        var contextId: String
        /// The client's message, with the task and context ids set.
        var message: A2AMessage
    }

    public init(service: LocalNodeService, settings: A2ASettings) {
        self.service = service
        self.settings = settings
    }

    // MARK: - Agent card

    /// The card for a client that reached the gateway at `base` (`scheme://host:port`): the
    /// JSON-RPC interface at `base/`, preferred, and the HTTP+JSON one at `base`.
    func card(base: String) async -> A2AAgentCard {
        let node = service.node
        var capabilities = await node.offeredCapabilities()
        if settings.directorySkills, let agents = try? await service.agents(AgentQuery()) {
            capabilities += agents.flatMap(\.record.capabilities.skills)
        }
        let skills = Set(capabilities.map { $0.lowercased() }).sorted().map { capability in
            A2AAgentCard.Skill(
                id: capability, name: capability,
                description: "Routed as a Plexus task to an agent offering '\(capability)'; name it in metadata.skill.",
                tags: ["plexus"], examples: nil, inputModes: ["text/plain", "application/json"], outputModes: ["text/plain", "application/json"])
        }
        return A2AAgentCard(
            name: settings.name ?? "Plexus \(node.id.short)",
            description: settings.description
                ?? "A Plexus node: an A2A message naming a skill (metadata.skill) becomes a task routed through the Plexus mesh.",
            version: PlexusVersion.current,
            supportedInterfaces: [
                .init(url: base + "/", protocolBinding: "JSONRPC", protocolVersion: "1.0"),
                .init(url: base, protocolBinding: "HTTP+JSON", protocolVersion: "1.0"),
            ],
            capabilities: .init(streaming: true, pushNotifications: false, extendedAgentCard: false),
            defaultInputModes: ["text/plain", "application/json"], defaultOutputModes: ["text/plain", "application/json"],
            skills: skills,
            securitySchemes: ["bearer": .init(httpAuthSecurityScheme: .init(scheme: "Bearer", description: "the gateway's token"))],
            securityRequirements: [.init(schemes: ["bearer": .init(list: [])])],
            documentationUrl: nil)
    }

    // MARK: - Methods

    /// `SendMessage` / `SendStreamingMessage`: sends the task; returns it as first seen.
    func send(_ params: A2ASendParams) async throws(A2AError) -> (view: TaskView, sent: Sent) {
        let message = params.message
        guard message.role == A2AMessage.user else {
            throw .invalidParams("message.role must be ROLE_USER, got '\(message.role.prefix(40))'")
        }
        guard !message.parts.isEmpty, message.parts.allSatisfy({ $0.contents == 1 }) else {
            throw .invalidParams("message.parts: at least one, each with exactly one of text, raw, url, data")
        }
        if params.configuration?.taskPushNotificationConfig != nil { throw .pushNotSupported }
        if let taskId = message.taskId {
            guard let id = try? TaskID.parse(taskId), remembered[id] != nil else { throw .taskNotFound(taskId) }
            throw .unsupported("task \(taskId) takes no further messages: Plexus tasks get their whole input when sent")
        }
        let metadata = (params.metadata?.objectValue ?? [:]).merging(message.metadata?.objectValue ?? [:]) { request, _ in request }
        let request = try await taskRequest(for: message, metadata: metadata)
        let view: TaskView
        do {
            view = try await service.sendTask(request)
        } catch {
            throw .from(error)
        }
        let contextId = message.contextId ?? UUID().uuidString.lowercased()
        var kept = message
        kept.taskId = view.id.description
        kept.contextId = contextId
        let sent = Sent(contextId: contextId, message: kept)
        remember(view.id, sent)
        return (view, sent)
    }

    /// The task a gateway client may see, by its A2A id.
    func sent(_ taskId: String) throws(A2AError) -> (TaskID, Sent) {
        guard let id = try? TaskID.parse(taskId), let sent = remembered[id] else { throw .taskNotFound(taskId) }
        return (id, sent)
    }

    /// The task now, or after it changes past `changedAfterMs` (or ends), waiting up to `waitMs`.
    func view(_ id: TaskID, waitMs: Int = 0, changedAfterMs: Int64? = nil) async throws(A2AError) -> TaskView {
        do {
            return try await service.task(id, waitMs: waitMs, changedAfterMs: changedAfterMs)
        } catch {
            throw .from(error)
        }
    }

    /// `CancelTask`.
    func cancel(_ taskId: String) async throws(A2AError) -> A2ATask {
        let (id, sent) = try sent(taskId)
        let before = try await view(id)
        guard !before.state.isTerminal else { throw .taskNotCancelable(taskId, before.state) }
        do {
            return Self.task(try await service.cancelTask(id), sent: sent, historyLength: nil)
        } catch {
            throw .from(error)
        }
    }

    /// `ListTasks`: tasks sent through the gateway, newest first.
    func list(_ params: A2AListParams) async throws(A2AError) -> JSONValue {
        let size = params.pageSize ?? 50
        guard (1...100).contains(size) else { throw .invalidParams("pageSize must be from 1 to 100") }
        let offset = try params.pageToken.map { token throws(A2AError) in
            guard let offset = Int(token), offset >= 0 else { throw .invalidParams("pageToken is not one this gateway gave") }
            return offset
        } ?? 0
        var matching: [(TaskID, Sent)] = []
        for id in order.reversed() {
            guard let sent = remembered[id], params.contextId.map({ $0 == sent.contextId }) ?? true else { continue }
            matching.append((id, sent))
        }
        var tasks: [A2ATask] = []
        for (id, sent) in matching {
            guard let view = try? await view(id) else { continue }
            let task = Self.task(view, sent: sent, historyLength: params.historyLength)
            if let status = params.status, task.status.state != status { continue }
            tasks.append(task)
        }
        let page = Array(tasks.dropFirst(offset).prefix(size))
        let next = offset + page.count < tasks.count ? String(offset + page.count) : ""
        return .object([
            "tasks": (try? JSONValue(encoding: page)) ?? .array([]), "nextPageToken": .string(next),
            "pageSize": .integer(Int64(size)), "totalSize": .integer(Int64(tasks.count)),
        ])
    }

    private func remember(_ id: TaskID, _ sent: Sent) {
        if remembered.updateValue(sent, forKey: id) == nil { order.append(id) }
        while order.count > Self.maxRemembered {
            remembered[order.removeFirst()] = nil
        }
    }

    // MARK: - Mapping

    /// The Plexus task a message asks for.
    private func taskRequest(for message: A2AMessage, metadata: [String: JSONValue]) async throws(A2AError) -> SendTaskRequest {
        let skill: String
        switch metadata["skill"] {
        case .string(let named)?:
            skill = named
        case nil:
            let skills = await card(base: "").skills.map(\.id)
            guard skills.count == 1, let only = skills.first else {
                throw .invalidParams("name the skill in metadata.skill; this gateway offers: \(skills.prefix(50).joined(separator: ", "))")
            }
            skill = only
        default:
            throw .invalidParams("metadata.skill must be a string")
        }
        var to: AgentID?
        if let agent = metadata["agent"] {
            guard case .string(let text) = agent, let id = try? AgentID.parse(text) else {
                throw .invalidParams("metadata.agent must be an agent id")
            }
            to = id
        }
        var require: [String]?
        if let value = metadata["require"] {
            guard case .array(let items) = value else { throw .invalidParams("metadata.require must be a list of strings") }
            require = try items.map { item throws(A2AError) in
                guard case .string(let text) = item else { throw .invalidParams("metadata.require must be a list of strings") }
                return text
            }
        }
        var timeoutMs: Int?
        switch metadata["timeoutMs"] {
        case .integer(let ms)?: timeoutMs = Int(clamping: ms)
        case .number(let ms)? where ms.rounded() == ms && abs(ms) < 1e12: timeoutMs = Int(ms)
        case nil: break
        default: throw .invalidParams("metadata.timeoutMs must be an integer")
        }
        return SendTaskRequest(to: to, capability: skill, payload: Self.payload(of: message.parts), timeoutMs: timeoutMs, require: require)
    }

    /// A task's payload from a message's parts: a single data part is the payload itself;
    /// otherwise an object with `text` (the text parts, joined by newlines), `data` (the
    /// data parts) and `files` (the raw and url parts), each only when present.
    static func payload(of parts: [A2APart]) -> JSONValue {
        if parts.count == 1, let data = parts[0].data { return data }
        var payload: [String: JSONValue] = [:]
        let texts = parts.compactMap(\.text)
        if !texts.isEmpty { payload["text"] = .string(texts.joined(separator: "\n")) }
        let data = parts.compactMap(\.data)
        if !data.isEmpty { payload["data"] = .array(data) }
        let files: [JSONValue] = parts.filter { $0.raw != nil || $0.url != nil }.map { part in
            var file: [String: JSONValue] = [:]
            if let raw = part.raw { file["raw"] = .string(raw) }
            if let url = part.url { file["url"] = .string(url) }
            if let name = part.filename { file["filename"] = .string(name) }
            if let type = part.mediaType { file["mediaType"] = .string(type) }
            return .object(file)
        }
        if !files.isEmpty { payload["files"] = .array(files) }
        return .object(payload)
    }

    /// A Plexus task as an A2A task.
    static func task(_ view: TaskView, sent: Sent, historyLength: Int?) -> A2ATask {
        var history = [sent.message]
        if let historyLength { history = Array(history.suffix(max(0, historyLength))) }
        return A2ATask(
            id: view.id.description, contextId: sent.contextId, status: status(view, sent: sent),
            artifacts: artifact(view).map { [$0] }, history: history.isEmpty ? nil : history,
            metadata: .object(["capability": .string(view.capability), "worker": view.worker.map { .string($0.description) } ?? .null]))
    }

    /// The task's status: its state, with the worker's progress or the error as an agent message.
    static func status(_ view: TaskView, sent: Sent) -> A2ATaskStatus {
        var text: String?
        switch view.state {
        case .failed, .rejected, .canceled:
            text = view.error.map { "\($0.code): \($0.message)" } ?? view.message
        case .working, .inputRequired, .submitted:
            text = view.message
        case .completed:
            text = nil
        }
        let id = view.id.description
        return A2ATaskStatus(
            state: A2AState.name(view.state),
            message: text.map { A2AMessage.agentText($0, id: "\(id)-\(view.updatedMs)", task: id, context: sent.contextId) },
            timestamp: timestamp(view.updatedMs))
    }

    /// A completed task's result as its one artifact: a text part when the result is text
    /// (or an object with a `text` string), and the result as a data part.
    static func artifact(_ view: TaskView) -> A2AArtifact? {
        guard view.state == .completed, let result = view.result else { return nil }
        var parts: [A2APart] = []
        switch result {
        case .string(let text):
            parts.append(A2APart(text: text))
        case .object(let members):
            if case .string(let text)? = members["text"] { parts.append(A2APart(text: text)) }
            parts.append(A2APart(data: result, mediaType: "application/json"))
        default:
            parts.append(A2APart(data: result, mediaType: "application/json"))
        }
        return A2AArtifact(artifactId: "\(view.id)-result", name: "result", description: nil, parts: parts)
    }

    static func timestamp(_ ms: Int64) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}

extension JSONValue {
    /// A value encoded to JSON and read back as a `JSONValue`.
    init(encoding value: some Encodable) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(value))
    }
}
