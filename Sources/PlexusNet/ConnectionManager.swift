import Crypto
import Foundation
import Logging
import NIOCore
import NIOExtras
import NIOPosix
import PlexusCore
import PlexusProtocol
import Synchronization

/// The node's mesh connections (DESIGN §5): listens, dials with timeouts, keeps one
/// connection per peer, redials remembered peers with exponential backoff and jitter, and
/// enforces the connection caps. Each connection's pipeline, bottom to top:
/// byte counter → 2-byte length framing → Noise → uint32 frame codec → idle timer → peer
/// handler (ping/pong, rate limit, slow-peer check).
public actor ConnectionManager {
    public let identity: AgentID
    public nonisolated let counters = MeshCounters()
    private let key: AgentKey
    /// This node's Noise static key: made at start, bound to the agent by signature in
    /// every handshake, so it need not be stored.
    private let noiseStatic: Curve25519.KeyAgreement.PrivateKey
    /// This node's signed handshake payload: it depends only on the keys, so it is made once.
    private let payload: Data
    private let verifiedBindings = IdentityBindingCache()
    private let config: MeshConfig
    private let logger: Logger
    private let group: any EventLoopGroup
    private let gate: ConnectionGate
    private let onPeerConnected: @Sendable (String, AgentID) -> Void
    /// Who consumes which frames (see `register`).
    private nonisolated let channels = MeshChannels()
    private var serverChannel: (any Channel)?
    private var connections: [AgentID: PeerConnection] = [:] {
        didSet { routes.withLock { $0 = connections } }
    }
    /// A copy of `connections` that sending reads without entering the actor.
    private nonisolated let routes = Mutex<[AgentID: PeerConnection]>([:])
    private var redialTasks: [String: Task<Void, Never>] = [:]
    private var redials: [String: Redial] = [:]
    private var shuttingDown = false
    private var pingCounter: UInt64 = 0
    /// Agents whose connections are closed once their handshake names them.
    private nonisolated let refused = Mutex<Set<AgentID>>([])

    /// - Parameter onPeerConnected: a dialled address completed a handshake with this agent.
    public init(
        identity: AgentKey, config: MeshConfig, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onPeerConnected: @escaping @Sendable (String, AgentID) -> Void = { _, _ in }
    ) {
        self.identity = identity.id
        self.key = identity
        let noiseStatic = Curve25519.KeyAgreement.PrivateKey()
        self.noiseStatic = noiseStatic
        self.payload = PlexusHandshake.makePayload(identity: identity, noiseStatic: noiseStatic)
        self.config = config
        self.logger = logger
        self.group = group
        self.gate = ConnectionGate(maxTotal: config.maxConnections, maxPerIP: config.maxConnectionsPerIP)
        self.onPeerConnected = onPeerConnected
    }

    /// Registers a subsystem's frame channels (DESIGN §2): the frames on them, and with
    /// `peerEvents` peers coming and going, arrive in order on the returned stream. Register
    /// before `start`, so that no frame arrives before its consumer. Bounded: beyond
    /// `bufferSize` waiting events, further ones are dropped (gossip repairs such losses,
    /// task callers time out at their deadline). Frames on channels nobody registered are
    /// dropped on arrival.
    public nonisolated func register(
        _ channels: Set<FrameChannel>, peerEvents: Bool = false, bufferSize: Int = 4096
    ) -> MeshEventStream {
        self.channels.register(channels, peerEvents: peerEvents, bufferSize: bufferSize)
    }

    /// Starts listening (if configured); returns the bound `host:port`.
    public func start() async throws -> String? {
        guard let host = config.listenHost else { return nil }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: config.sendQueueBytes / 2, high: config.sendQueueBytes))
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.accept(channel) }
            }
        let channel = try await bootstrap.bind(host: host, port: config.listenPort).get()
        serverChannel = channel
        let port = channel.localAddress?.port ?? config.listenPort
        return HostPort(host: host, port: port).description
    }

    /// Dials `host:port` and completes the handshake (optionally pinning the peer's id).
    /// Returns the connected peer, or throws `MeshError` / `HandshakeError`.
    @discardableResult
    public func connect(host: String, port: Int, expectedPeer: AgentID? = nil) async throws -> PeerView {
        try await dial(host: host, port: port, expectedPeer: expectedPeer, bootstrap: false)
    }

    /// `bootstrap`: the dial keeps a configured or remembered peer connected (`keepConnected`);
    /// the peer event says so, and gossip joins the overlay through such a peer.
    private func dial(host: String, port: Int, expectedPeer: AgentID?, bootstrap isBootstrap: Bool) async throws -> PeerView {
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(config.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: config.sendQueueBytes / 2, high: config.sendQueueBytes))
        let connected = bootstrap.connect(host: host, port: port)
        // The handshake starts on the event loop the moment the connection is up, not when
        // this task is next scheduled: on a busy machine that can be later than the peer's
        // handshake timeout.
        let (gate, counters) = (self.gate, self.counters)
        let pipelined = connected.flatMapThrowing { channel in
            guard gate.admit(ip: channel.remoteAddress?.ipAddress ?? host) else {
                channel.close(promise: nil)
                counters.closed(MeshError.tooManyConnections.reason)
                throw MeshError.tooManyConnections
            }
            counters.update { $0.connectionsDialed += 1 }
            return try self.setUpPipeline(channel, direction: .outbound, expectedPeer: expectedPeer)
        }
        do {
            _ = try await connected.get()
        } catch {
            counters.closed(MeshError.dialFailed("").reason)
            throw MeshError.dialFailed(Self.dialFailure(error, timeout: config.connectTimeout))
        }
        let (connection, handshake) = try await pipelined.get()
        let peer = try await handshake.get()
        let survivor = try register(connection, peer: peer, bootstrap: isBootstrap)
        onPeerConnected(HostPort(host: host, port: port).description, peer.agentID)
        return survivor.info
    }

    /// Refuses these agents from now on: closes their connections, and every later one
    /// once its handshake names them (whatever address it comes from).
    public func refuse(_ agents: Set<AgentID>) {
        refused.withLock { $0 = agents }
        for (agent, connection) in connections where agents.contains(agent) {
            connection.close(MeshError.refusedPeer.reason)
        }
    }

    /// Keeps a connection to `host:port`: dials now and again whenever it drops, backing
    /// off exponentially (with jitter) while it cannot be reached.
    public func keepConnected(host: String, port: Int) {
        let address = HostPort(host: host, port: port).description
        guard redialTasks[address] == nil, !shuttingDown else { return }
        redials[address] = Redial()
        redialTasks[address] = Task { [config, logger] in
            var delay = config.redialInitial
            while !Task.isCancelled {
                self.noteRedial(address) { $0.dialling = true; $0.nextDialMs = nil }
                do {
                    // Returns the surviving connection, also when the peer's own dial won.
                    let info = try await self.dial(host: host, port: port, expectedPeer: nil, bootstrap: true)
                    delay = config.redialInitial
                    self.noteRedial(address) { $0 = Redial() }
                    if let peer = info.agentID { await self.waitUntilClosed(peer) }
                } catch {
                    logger.debug("redial failed", metadata: ["address": "\(address)", "error": "\(error)"])
                    self.noteRedial(address) { redial in
                        redial.dialling = false
                        redial.failures += 1
                        redial.lastError = String("\(error)".prefix(200))
                    }
                }
                let pause = Duration.nanoseconds(Int64(Double(delay.nanoseconds) * Double.random(in: 0.5...1.5)))
                let (seconds, attoseconds) = pause.components
                let wakeMs = Int64(Date().timeIntervalSince1970 * 1000) + seconds * 1000 + attoseconds / 1_000_000_000_000_000
                self.noteRedial(address) { $0.dialling = false; $0.nextDialMs = wakeMs }
                try? await Task.sleep(for: pause)
                delay = .nanoseconds(min(delay.nanoseconds * 2, config.redialMax.nanoseconds))
            }
        }
    }

    /// Stops redialling `host:port` (a live connection there stays until it closes).
    public func stopKeeping(_ address: String) {
        redialTasks.removeValue(forKey: address)?.cancel()
        redials.removeValue(forKey: address)
    }

    /// Where the redialling of a kept address stands (for the peer list).
    public struct Redial: Sendable, Equatable {
        /// A dial is under way.
        public var dialling = false
        /// Dials in a row that failed, and why the last one did.
        public var failures = 0
        public var lastError: String?
        /// When the next dial starts (ms since the epoch), while waiting for it.
        public var nextDialMs: Int64?
    }

    /// The kept addresses and their redialling.
    public func redialStates() -> [String: Redial] { redials }

    private func noteRedial(_ address: String, _ change: (inout Redial) -> Void) {
        guard var redial = redials[address] else { return }  // no longer kept
        change(&redial)
        redials[address] = redial
    }

    /// Closes the connection to `peer`, if there is one, and waits until it is closed.
    public func disconnect(_ peer: AgentID) async {
        guard let connection = connections[peer] else { return }
        connection.close("disconnected")
        try? await connection.channel.closeFuture.get()
    }

    /// The connected peers.
    public func peers() -> [PeerView] {
        connections.values.map(\.info).sorted { ($0.connectedMs ?? 0) < ($1.connectedMs ?? 0) }
    }

    /// Most send batches queued to one connection's event loop and not yet written.
    public static let maxQueuedBatches = 64

    /// What became of frames offered to `trySend`.
    public enum SendOutcome: Sendable, Equatable {
        case sent
        /// No connection to the peer.
        case notConnected
        /// The connection's queue is full (the peer reads slower than we send): nothing was sent.
        case queueFull
    }

    /// Sends frames to a connected peer, flushed together (small frames share Noise
    /// messages), without waiting for the write: callers that send a lot (gossip) are never
    /// held up by thread hops. Frames sent from one task arrive in order. Sends nothing
    /// when not connected, when the channel is not writable, or while `maxQueuedBatches`
    /// batches still wait to be written; so a peer that stops reading holds at most the
    /// queue plus those batches.
    public nonisolated func trySend(_ frames: [Plexus_Frame], to peer: AgentID) -> SendOutcome {
        guard let connection = routes.withLock({ $0[peer] }) else { return .notConnected }
        let channel = connection.channel
        guard channel.isActive else { return .notConnected }
        guard channel.isWritable else { return .queueFull }
        let queued = connection.queuedBatches.add(1, ordering: .relaxed).newValue
        guard queued <= Self.maxQueuedBatches else {
            connection.queuedBatches.subtract(1, ordering: .relaxed)
            return .queueFull
        }
        channel.eventLoop.execute {
            connection.queuedBatches.subtract(1, ordering: .relaxed)
            guard channel.isActive else { return }
            for frame in frames { channel.write(frame, promise: nil) }
            // One flush after every batch handed over so far: the batches written in one
            // turn of the loop share Noise messages and a system call.
            guard !connection.flushPending.exchange(true, ordering: .relaxed) else { return }
            channel.eventLoop.execute {
                connection.flushPending.store(false, ordering: .relaxed)
                channel.flush()
            }
        }
        return .sent
    }

    /// Sends frames that must not be lost to a momentarily full queue (task messages):
    /// retries every millisecond while the queue is full, for at most `patience`. False when
    /// not connected, or still full after that.
    public nonisolated(nonsending) func sendWaiting(_ frames: [Plexus_Frame], to peer: AgentID, patience: Duration = .seconds(2)) async -> Bool {
        let deadline = ContinuousClock.now + patience
        while true {
            switch trySend(frames, to: peer) {
            case .sent: return true
            case .notConnected: return false
            case .queueFull:
                guard ContinuousClock.now < deadline, !Task.isCancelled else { return false }
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    /// The agents connected now (read without entering the actor).
    public nonisolated func connectedPeers() -> [AgentID] {
        routes.withLock { routes in routes.filter { $0.value.channel.isActive }.map(\.key) }
    }

    /// `trySend`, answering only whether the frames were sent.
    @discardableResult
    public nonisolated func send(_ frames: [Plexus_Frame], to peer: AgentID) -> Bool {
        trySend(frames, to: peer) == .sent
    }

    /// Pings a connected peer and waits for its pong (answered on receipt, in order: every
    /// earlier frame reached the peer's consumers, which may not have acted on it yet).
    /// Returns the round-trip time.
    public func ping(_ peer: AgentID, timeout: Duration = .seconds(10)) async throws -> Duration {
        guard let connection = connections[peer] else { throw MeshError.notConnected }
        pingCounter &+= 1
        let nonce = (UInt64(1) << 63) | pingCounter
        var ping = Plexus_Ping()
        ping.nonce = nonce
        let frame = Plexus_Frame.with { $0.kind = .ping(ping) }
        let start = ContinuousClock.now
        let answered = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                await connection.awaitPong(nonce) { connection.channel.writeAndFlush(frame, promise: nil) }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                _ = connection.pongReceived(nonce)  // releases the waiter
                return false
            }
            let first = try await group.next() ?? false
            group.cancelAll()
            return first
        }
        guard answered else {
            throw connection.channel.isActive ? MeshError.pingTimeout : MeshError.notConnected
        }
        return ContinuousClock.now - start
    }

    /// Closes everything.
    public func shutdown() async {
        defer { channels.finish() }
        shuttingDown = true
        for task in redialTasks.values { task.cancel() }
        redialTasks.removeAll()
        redials.removeAll()
        try? await serverChannel?.close()
        for connection in connections.values { connection.close("shutdown") }
        connections.removeAll()
    }

    // MARK: - Connections

    /// Sets up an accepted socket; runs on its event loop.
    private nonisolated func accept(_ channel: any Channel) throws {
        let ip = channel.remoteAddress?.ipAddress ?? "unknown"
        guard gate.admit(ip: ip) else {
            counters.closed(MeshError.tooManyConnections.reason)
            channel.close(promise: nil)
            return
        }
        counters.update { $0.connectionsAccepted += 1 }
        let (connection, handshake) = try setUpPipeline(channel, direction: .inbound, expectedPeer: nil)
        handshake.whenSuccess { peer in
            Task { _ = try? await self.register(connection, peer: peer) }
        }
    }

    private nonisolated func setUpPipeline(
        _ channel: any Channel, direction: PeerView.Direction, expectedPeer: AgentID?
    ) throws -> (PeerConnection, EventLoopFuture<PeerIdentity>) {
        let connection = PeerConnection(channel: channel, direction: direction, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
        let promise = channel.eventLoop.makePromise(of: PeerIdentity.self)
        let handshake = PlexusHandshake(
            role: direction == .outbound ? .initiator : .responder, networkKey: config.networkKey, identity: key,
            noiseStatic: noiseStatic, expectedPeer: expectedPeer, payload: payload, verifiedBindings: verifiedBindings)
        let gate = self.gate
        let counters = self.counters
        let logger = self.logger
        channel.closeFuture.whenComplete { _ in
            gate.release(ip: connection.ip)
            let reason = connection.closeReason ?? "peer_closed"
            counters.closed(reason)
            logger.debug("mesh connection closed", metadata: ["address": "\(connection.info.address)", "reason": "\(reason)"])
            Task { await self.unregister(connection) }
        }
        promise.futureResult.whenFailure { error in
            let reason = (error as? HandshakeError).map { "handshake: " + PeerFrameHandler.label($0) }
                ?? (error as? MeshError)?.reason ?? "handshake_failed"
            connection.close(reason)
            logger.info("mesh handshake failed", metadata: ["address": "\(connection.info.address)", "reason": "\(reason)"])
        }
        try channel.pipeline.syncOperations.addHandlers([
            ByteCountHandler(connection: connection),
            ByteToMessageHandler(LengthFieldBasedFrameDecoder(lengthFieldBitLength: .twoBytes)),
            LengthFieldPrepender(lengthFieldBitLength: .twoBytes),
            NoiseTransportHandler(handshake: handshake, isInitiator: direction == .outbound, timeout: config.handshakeTimeout, completion: promise),
            ByteToMessageHandler(FrameDecoder(maxFrameBytes: config.maxFrameBytes)),
            MessageToByteHandler(FrameEncoder()),
            IdleStateHandler(readTimeout: config.idleTimeout),
            PeerFrameHandler(connection: connection, config: config, counters: counters, onFrame: { [channels] peer, frame in
                let held = connection.deliverInOrder(frame) { Self.hand($0, from: peer, to: channels, counters: counters) }
                if !held { connection.close("too_many_frames_before_registration") }
            }),
        ])
        return (connection, promise.futureResult)
    }

    /// Gives a frame to the subscriber of its channel, or counts it unconsumed.
    private static func hand(_ frame: Plexus_Frame, from peer: AgentID, to channels: MeshChannels, counters: MeshCounters) {
        if !channels.deliver(frame, from: peer) { counters.update { $0.framesUnconsumed += 1 } }
    }

    /// Frames a connection held until its peer was announced go to their channels now.
    private func release(_ connection: PeerConnection, peer: AgentID) {
        connection.release { [channels, counters] in Self.hand($0, from: peer, to: channels, counters: counters) }
    }

    /// Records a connection whose handshake completed and returns the one kept for that
    /// peer. With two connections to one peer (both dialled at once), both sides keep the
    /// one dialled by the smaller agent id and close the other.
    @discardableResult
    private func register(_ connection: PeerConnection, peer: PeerIdentity, bootstrap: Bool = false) throws(MeshError) -> PeerConnection {
        connection.update { $0.agentID = peer.agentID }
        guard !refused.withLock({ $0.contains(peer.agentID) }) else {
            connection.close(MeshError.refusedPeer.reason)
            throw MeshError.refusedPeer
        }
        counters.update { $0.handshakesCompleted += 1 }
        if let existing = connections[peer.agentID], existing !== connection, existing.channel.isActive {
            let keepNew = Self.dialler(of: connection, peer: peer.agentID, me: identity)
                < Self.dialler(of: existing, peer: peer.agentID, me: identity)
            if !keepNew {
                connection.close(MeshError.duplicateConnection.reason)
                // The peer's own dial won; a bootstrap dial still counts as reaching it.
                if bootstrap { channels.peerEvent(.peerUp(peer.agentID, ip: existing.ip, bootstrap: true)) }
                // The peer may have sent on it before it saw the other connection.
                release(connection, peer: peer.agentID)
                return existing
            }
            existing.close(MeshError.duplicateConnection.reason)
        }
        connections[peer.agentID] = connection
        channels.peerEvent(.peerUp(peer.agentID, ip: connection.ip, bootstrap: bootstrap))
        release(connection, peer: peer.agentID)
        logger.info("mesh peer connected", metadata: [
            "peer": "\(peer.agentID.short)", "address": "\(connection.info.address)", "direction": "\(connection.info.direction.rawValue)",
        ])
        return connection
    }

    private static func dialler(of connection: PeerConnection, peer: AgentID, me: AgentID) -> AgentID {
        connection.info.direction == .outbound ? me : peer
    }

    private func unregister(_ connection: PeerConnection) {
        if let peer = connection.agentID, connections[peer] === connection {
            connections.removeValue(forKey: peer)
            channels.peerEvent(.peerDown(peer))
        }
    }

    private func waitUntilClosed(_ peer: AgentID) async {
        guard let connection = connections[peer] else { return }
        try? await connection.channel.closeFuture.get()
    }
}

extension ConnectionManager {
    /// Why a TCP connect failed, in words a person reads: "connection refused", "timed out
    /// after 5 s", "cannot resolve the host" — not NIO's nested error values.
    static func dialFailure(_ error: any Error, timeout: TimeAmount) -> String {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return dialFailure(first.error, timeout: timeout) }
            return "cannot resolve the host"
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if case ChannelError.connectTimeout = error {
            return "no answer within \(timeout.nanoseconds / 1_000_000) ms"
        }
        return "\(error)"
    }
}
