import Foundation

/// Direct messages (DESIGN §15): sealed to one agent, signed by the sender, kept in a
/// bounded outbox and retried until the recipient acknowledges or the message expires.
public protocol DirectService: Sendable {
    /// Sends a message (it waits in the outbox while the recipient is unreachable).
    func sendDirect(_ request: DirectSendRequest) async throws(PlexusError) -> DirectMessageView
    /// Messages sent and received, newest first (or, with `since`, oldest first after it).
    func directMessages(_ request: DirectListRequest) async throws(PlexusError) -> DirectPage
    /// One message, opened.
    func directMessage(_ id: DirectID) async throws(PlexusError) -> DirectMessageView
    /// Marks a received message read.
    func markDirectRead(_ id: DirectID) async throws(PlexusError) -> DirectMessageView
    /// One line per agent messages were exchanged with, the latest first.
    func conversations() async throws(PlexusError) -> [ConversationView]
}

/// `POST /v1/dms`, `plexus dm send`.
public struct DirectSendRequest: Codable, Sendable, Equatable {
    public var to: AgentID
    /// A JSON object (`{"text": …}` for plain text).
    public var content: JSONValue
    /// How long to wait for the recipient's acknowledgement before answering (0–60000 ms).
    public var waitMs: Int?

    public init(to: AgentID, content: JSONValue, waitMs: Int? = nil) {
        self.to = to
        self.content = content
        self.waitMs = waitMs
    }

    enum CodingKeys: String, CodingKey { case to, content, waitMs = "wait_ms" }

    /// The content's bytes, when it is an object within the size limit.
    public func validatedContent() throws(PlexusError) -> Data {
        guard case .object = content else {
            throw PlexusError(.invalidContent, "content must be a JSON object (e.g. {\"text\": \"...\"})")
        }
        let bytes = content.canonicalData()
        guard bytes.count <= DirectEnvelope.maxContentBytes else {
            throw PlexusError(.tooLarge, "a direct message is at most \(DirectEnvelope.maxContentBytes) bytes of content; this one is \(bytes.count)")
        }
        if let waitMs { _ = try WaitTime.duration(ms: waitMs) }
        return bytes
    }
}

/// `GET /v1/dms`: filters and a page position.
public struct DirectListRequest: Sendable, Equatable {
    public var with: AgentID?
    /// Only quarantined messages (from senders below `trust: messages_from`).
    public var quarantined: Bool
    public var since: Int64?
    public var before: Int64?
    public var limit: Int?
    public var waitMs: Int?

    public init(with: AgentID? = nil, quarantined: Bool = false, since: Int64? = nil, before: Int64? = nil, limit: Int? = nil, waitMs: Int? = nil) {
        self.with = with
        self.quarantined = quarantined
        self.since = since
        self.before = before
        self.limit = limit
        self.waitMs = waitMs
    }
}

/// A direct message as this node holds it.
public struct DirectMessageView: Codable, Sendable, Equatable {
    /// `in`: received; `out`: sent from here.
    public enum Direction: String, Codable, Sendable { case incoming = "in", outgoing = "out" }

    /// Received: `received` or `quarantined`. Sent: `pending` (in the outbox), `delivered`
    /// (acknowledged), `refused` (the recipient said no) or `expired` (never acknowledged).
    public enum State: String, Codable, Sendable { case received, quarantined, pending, delivered, refused, expired }

    public var id: DirectID
    /// The other agent.
    public var peer: AgentID
    public var direction: Direction
    public var content: JSONValue?
    public var timeMs: Int64
    public var receivedMs: Int64
    public var state: State
    public var readMs: Int64?
    /// Sent messages: tries so far, when it gives up, and why the last try failed.
    public var attempts: Int?
    public var expiresMs: Int64?
    public var lastError: String?
    /// Local order: events and paging continue from it.
    public var seq: Int64

    public init(
        id: DirectID, peer: AgentID, direction: Direction, content: JSONValue?, timeMs: Int64, receivedMs: Int64, state: State,
        readMs: Int64?, attempts: Int?, expiresMs: Int64?, lastError: String?, seq: Int64
    ) {
        self.id = id
        self.peer = peer
        self.direction = direction
        self.content = content
        self.timeMs = timeMs
        self.receivedMs = receivedMs
        self.state = state
        self.readMs = readMs
        self.attempts = attempts
        self.expiresMs = expiresMs
        self.lastError = lastError
        self.seq = seq
    }

    enum CodingKeys: String, CodingKey {
        case id, peer, direction, content, state, attempts, seq
        case timeMs = "time_ms", receivedMs = "received_ms", readMs = "read_ms", expiresMs = "expires_ms", lastError = "last_error"
    }
}

/// A page of direct messages.
public struct DirectPage: Codable, Sendable, Equatable {
    public var messages: [DirectMessageView]
    /// Where to continue: `since` for oldest-first reads, `before` for newest-first.
    public var nextSeq: Int64?
    public var hasMore: Bool

    public init(messages: [DirectMessageView], nextSeq: Int64?, hasMore: Bool) {
        self.messages = messages
        self.nextSeq = nextSeq
        self.hasMore = hasMore
    }

    enum CodingKeys: String, CodingKey { case messages, nextSeq = "next_seq", hasMore = "has_more" }
}

/// The messages exchanged with one agent.
public struct ConversationView: Codable, Sendable, Equatable {
    public var peer: AgentID
    public var messages: Int
    public var unread: Int
    public var last: DirectMessageView

    public init(peer: AgentID, messages: Int, unread: Int, last: DirectMessageView) {
        self.peer = peer
        self.messages = messages
        self.unread = unread
        self.last = last
    }
}
