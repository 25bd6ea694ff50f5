import Foundation
import Logging
import Metrics
import PlexusCore
import PlexusNet
import PlexusStore
import SwiftProtobuf

/// Direct messages (DESIGN §15, PROTOCOL.md §16) for this node: seals and signs what is
/// sent, keeps it in the store's outbox and tries it (the connection; else a dial to an
/// address of the recipient's record, its id pinned; else a relay the record names) until
/// the recipient acknowledges, refuses, or the message expires, backing off between tries
/// and trying again at once when the recipient connects. Received messages are checked
/// (signature, sealed to this agent, size, trust), stored as they came, and acknowledged;
/// messages for other agents are forwarded when they are connected here (relaying).
actor DirectMessages {
    /// How long a sent message is tried before it expires.
    static let lifetimeMs: Int64 = 24 * 3600 * 1000
    /// The longest pause between two tries of one message.
    static let maxBackoffMs: Int64 = 5 * 60 * 1000

    private let key: AgentKey
    private var me: AgentID { key.id }
    private let exchangeKey: ExchangeKey
    private let store: DirectStore
    private let mesh: ConnectionManager
    private let trust: TrustGate
    private let clock: NodeClock
    private let relays: Bool
    private let logger: Logger
    private let lookup: @Sendable (AgentID) async throws(PlexusError) -> AgentView
    private var answered = Waiters<DirectID>()
    /// Sent messages whose answer (or expiry) came lately, with when: a sender waiting for
    /// one checks here without suspending, so an answer that arrives while it is still on
    /// its way to waiting is not missed. Entries older than a minute are dropped.
    private var settled: [DirectID: ContinuousClock.Instant] = [:]

    init(
        key: AgentKey, store: DirectStore, mesh: ConnectionManager, trust: TrustGate, clock: NodeClock, relays: Bool, logger: Logger,
        lookup: @escaping @Sendable (AgentID) async throws(PlexusError) -> AgentView
    ) {
        self.key = key
        self.exchangeKey = ExchangeKey(agent: key)
        self.store = store
        self.mesh = mesh
        self.trust = trust
        self.clock = clock
        self.relays = relays
        self.logger = logger
        self.lookup = lookup
    }

    // MARK: - Sending

    /// Seals, signs and stores a message, tries it once now, and waits up to `waitMs` for
    /// the recipient's answer.
    func send(_ request: DirectSendRequest) async throws(PlexusError) -> DirectMessageView {
        let content = try request.validatedContent()
        let wait = try WaitTime.duration(ms: request.waitMs)
        guard request.to != me else { throw PlexusError(.invalidContent, "a direct message goes to another agent") }
        let target = try await lookup(request.to)
        guard let targetKey = target.record.exchangeKey?.binding(of: request.to).verifiedKey() else {
            throw PlexusError(.noRoute, "agent \(request.to) announces no valid exchange key: nothing can be sealed to it")
        }
        let id = DirectID.random()
        let now = clock.nowMs
        let frame = try DirectEnvelope.message(id: id, content: content, from: key, to: request.to, targetKey: targetKey, timeMs: now)
        let own = try AgentSeal.seal(content, to: me, key: exchangeKey.publicKey, label: DirectEnvelope.ownCopyLabel)
        let copy = Plexus_DirectMessage.with {
            $0.timeMs = UInt64(now)
            $0.encapsulatedKey = own.encapsulatedKey
            $0.ciphertext = own.ciphertext
        }
        let record = try await store.send(
            id: id, to: request.to, timeMs: now, sealed: try Self.bytes(copy), frame: try Self.bytes(frame), expiresMs: now + Self.lifetimeMs)
        Self.count("sent")
        await attempt(record)
        if wait > .zero {
            let deadline = ContinuousClock.now + wait
            while ContinuousClock.now < deadline, !Task.isCancelled, settled[id] == nil {
                // A cancelled wait (the request gone, the node stopping) ends at once.
                await withTaskCancellationHandler {
                    await withCheckedContinuation { answered.add(id, until: deadline, $0) }
                } onCancel: {
                    Task { await self.wakeAnswered(id) }
                }
            }
            // Cancelled: the message as it is, even if the store refuses a cancelled read.
            if Task.isCancelled { return try view((try? await stored(id)) ?? record) }
        }
        return try view(try await stored(id))
    }

    private func wakeAnswered(_ id: DirectID) {
        answered.wakeAll(id)
    }

    /// One try of an outbox message; the next is scheduled with backoff whatever happens
    /// (an answer takes it out of the outbox first).
    private func attempt(_ record: DirectStore.Record) async {
        guard let bytes = record.frame, let direct = try? Plexus_Direct(serializedBytes: bytes) else { return }
        let sent = await route(Plexus_Frame.with { $0.direct = direct }, to: record.peer)
        let backoff = min(Self.maxBackoffMs, Int64(1000) << Int64(min(record.attempts, 16)))
        try? await store.tried(record.seq, nextAttemptMs: clock.nowMs + backoff, error: sent ? nil : "not reachable: not connected, no dialable address, no connected relay")
    }

    /// Sends a frame towards `target`: over its connection, after a dial to an address of
    /// its record, or through a relay its record names. True when a link took it.
    private func route(_ frame: Plexus_Frame, to target: AgentID) async -> Bool {
        if await mesh.sendWaiting([frame], to: target) { return true }
        guard let record = try? await lookup(target).record else { return false }
        for address in record.addresses {
            guard let host = try? HostPort.parse(address, defaultHost: "127.0.0.1"), host.host != "0.0.0.0" else { continue }
            guard (try? await mesh.connect(host: host.host, port: host.port, expectedPeer: target)) != nil else { continue }
            if await mesh.sendWaiting([frame], to: target) { return true }
        }
        for relay in record.relays ?? [] where relay != me {
            if await mesh.sendWaiting([frame], to: relay) { return true }
        }
        return false
    }

    // MARK: - Receiving

    /// A `Direct` frame from the link `peer`.
    func receive(_ direct: Plexus_Direct, from peer: AgentID) async {
        guard let target = AgentID(bytes: direct.target), let id = DirectID(bytes: direct.id) else {
            Self.count("malformed")
            return
        }
        guard target == me else {
            // For another agent: passed on unchanged when it is connected here.
            if relays, mesh.send([Plexus_Frame.with { $0.direct = direct }], to: target) { Self.count("relayed") }
            return
        }
        guard let origin = DirectEnvelope.verifiedOrigin(of: direct) else {
            Self.count("bad_signature")
            logger.warning("direct message frame with a bad signature: dropped", metadata: ["via": "\(peer.short)"])
            return
        }
        switch direct.kind {
        case .message(let message)?:
            await take(message, id: id, from: origin, via: peer)
        case .ack?:
            if (try? await store.answered(id, by: origin, refusal: nil)) != nil { Self.count("delivered") }
            settle(id)
        case .refused(let reason)?:
            if (try? await store.answered(id, by: origin, refusal: reason)) != nil { Self.count("refused_by_recipient") }
            settle(id)
        case nil:
            Self.count("malformed")
        }
    }

    /// A message for this agent: refused (and told so), or stored and acknowledged. A retry
    /// or replay of a held message is acknowledged again and not stored twice.
    private func take(_ message: Plexus_DirectMessage, id: DirectID, from origin: AgentID, via peer: AgentID) async {
        func answer(_ refusal: String?) async {
            let frame = Plexus_Frame.with { $0.direct = DirectEnvelope.answer(to: id, refusal: refusal, from: key, to: origin) }
            if await !mesh.sendWaiting([frame], to: peer) { _ = await route(frame, to: origin) }
        }
        let level = trust.trust(of: origin)
        guard level != .blocked else {
            Self.count("refused_blocked")
            return await answer("the sender is blocked here")
        }
        guard message.ciphertext.count <= DirectEnvelope.maxContentBytes + 16, message.encapsulatedKey.count == 32 else {
            Self.count("refused_too_large")
            return await answer("tooLarge: at most \(DirectEnvelope.maxContentBytes) bytes of content")
        }
        guard let content = try? DirectEnvelope.open(message, for: me, with: exchangeKey),
              case .object? = try? JSONValue(parsing: content)
        else {
            Self.count("refused_not_sealed")
            return await answer("malformedEnvelope: not sealed to this agent, or not a JSON object")
        }
        let state: DirectMessageView.State = level >= trust.policy.messagesFrom ? .received : .quarantined
        do {
            let stored = try await store.receive(
                id: id, from: origin, timeMs: Int64(clamping: message.timeMs), receivedMs: clock.nowMs, sealed: try Self.bytes(message),
                state: state)
            Self.count(stored == nil ? "duplicate" : state.rawValue)
        } catch {
            logger.error("cannot store a direct message", metadata: ["error": "\(error)"])
            return  // not acknowledged: the sender tries again
        }
        await answer(nil)
    }

    // MARK: - Running

    /// Consumes `Direct` frames and peer arrivals, and works the outbox, until cancelled.
    func run(_ inbound: MeshEventStream) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in inbound {
                    switch event {
                    case .frame(let peer, let frame):
                        if case .direct(let direct)? = frame.kind { await self.receive(direct, from: peer) }
                    case .peerUp(let peer, _, _):
                        await self.flush(to: peer)
                    case .peerDown:
                        break
                    }
                }
            }
            group.addTask { await self.workOutbox() }
            await group.next()
            group.cancelAll()
        }
    }

    /// A sent message is answered or expired: its waiting sender goes on.
    private func settle(_ id: DirectID) {
        settled[id] = .now
        answered.wakeAll(id)
    }

    /// A recipient just connected: everything waiting for it goes now.
    private func flush(to peer: AgentID) async {
        for record in (try? await store.due(by: .max, peer: peer)) ?? [] { await attempt(record) }
    }

    /// Tries what is due, gives up on what expired, and sleeps until the next is due (at
    /// most a second, so a new message's retry schedule is picked up).
    private func workOutbox() async {
        while !Task.isCancelled {
            let now = clock.nowMs
            if let expired = try? await store.expire(nowMs: now), !expired.isEmpty {
                Self.count("expired", by: expired.count)
                logger.info("direct messages expired undelivered", metadata: ["count": "\(expired.count)"])
                for record in expired { settle(record.id) }
            }
            for record in (try? await store.due(by: now)) ?? [] { await attempt(record) }
            answered.wakeExpired(now: .now)
            let stale = ContinuousClock.now - .seconds(60)
            settled = settled.filter { $0.value > stale }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    // MARK: - Reading

    func page(_ request: DirectListRequest) async throws(PlexusError) -> DirectPage {
        let limit = try PageLimit.check(request.limit ?? 50)
        let wait = try WaitTime.duration(ms: request.waitMs)
        var result = try await store.page(with: request.with, quarantined: request.quarantined, since: request.since, before: request.before, limit: limit)
        if result.records.isEmpty, let since = request.since, wait > .zero {
            try? await store.arrivals.wait(after: since, timeout: wait)
            // Cancelled (the request gone, the node stopping): the empty page, at its cursor.
            if !Task.isCancelled {
                result = try await store.page(with: request.with, quarantined: request.quarantined, since: since, before: request.before, limit: limit)
            }
        }
        let views = result.records.map { (try? view($0)) ?? Self.unopened($0) }
        let next = request.since != nil ? (result.records.last?.seq ?? request.since) : (result.hasMore ? result.records.last?.seq : nil)
        return DirectPage(messages: views, nextSeq: next, hasMore: result.hasMore)
    }

    func message(_ id: DirectID) async throws(PlexusError) -> DirectMessageView {
        try view(try await stored(id))
    }

    func markRead(_ id: DirectID) async throws(PlexusError) -> DirectMessageView {
        let record = try await stored(id)
        guard !record.outgoing else { throw PlexusError(.invalidContent, "only a received message is marked read") }
        try await store.markRead(record.seq, atMs: clock.nowMs)
        return try view(try await stored(id))
    }

    func conversations() async throws(PlexusError) -> [ConversationView] {
        try await store.conversations().map { line in
            ConversationView(peer: line.peer, messages: line.count, unread: line.unread, last: (try? view(line.last)) ?? Self.unopened(line.last))
        }
    }

    private func stored(_ id: DirectID) async throws(PlexusError) -> DirectStore.Record {
        guard let record = try await store.message(id) else { throw PlexusError(.notFound, "no direct message \(id) here") }
        return record
    }

    /// A record opened with this agent's exchange key.
    private func view(_ record: DirectStore.Record) throws(PlexusError) -> DirectMessageView {
        let message: Plexus_DirectMessage
        do {
            message = try Plexus_DirectMessage(serializedBytes: record.sealed)
        } catch {
            throw PlexusError(.internal, "a stored direct message does not decode: \(error)")
        }
        let content = try AgentSeal.open(
            encapsulatedKey: message.encapsulatedKey, ciphertext: message.ciphertext, recipient: me, key: exchangeKey,
            label: record.outgoing ? DirectEnvelope.ownCopyLabel : DirectEnvelope.label)
        var view = Self.unopened(record)
        view.content = try JSONValue(parsing: content)
        return view
    }

    private static func unopened(_ record: DirectStore.Record) -> DirectMessageView {
        DirectMessageView(
            id: record.id, peer: record.peer, direction: record.outgoing ? .outgoing : .incoming, content: nil, timeMs: record.timeMs,
            receivedMs: record.receivedMs, state: record.state, readMs: record.readMs, attempts: record.outgoing ? record.attempts : nil,
            expiresMs: record.expiresMs, lastError: record.lastError, seq: record.seq)
    }

    private static func bytes(_ message: some SwiftProtobuf.Message) throws(PlexusError) -> Data {
        do {
            return try message.serializedData()
        } catch {
            throw PlexusError(.internal, "cannot encode a direct message: \(error)")
        }
    }

    /// `plexus_direct_messages_total{outcome}`.
    private static func count(_ outcome: String, by amount: Int = 1) {
        Metrics.Counter(label: "plexus_direct_messages_total", dimensions: [("outcome", outcome)]).increment(by: amount)
    }
}
