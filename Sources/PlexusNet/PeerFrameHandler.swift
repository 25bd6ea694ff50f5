import NIOCore
import NIOFoundationCompat
import PlexusCore
import PlexusProtocol

/// Signals, from the Noise layer upwards, that the handshake is done.
struct HandshakeCompleted {
    let peer: PeerIdentity
}

/// Counts the raw bytes of a connection, for `bytes_in` / `bytes_out`.
final class ByteCountHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let connection: PeerConnection

    init(connection: PeerConnection) { self.connection = connection }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = unwrapInboundIn(data).readableBytes
        connection.update { $0.bytesIn += count }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let count = unwrapOutboundIn(data).readableBytes
        connection.update { $0.bytesOut += count }
        context.write(data, promise: promise)
    }
}

/// The top of a mesh pipeline: answers pings, measures RTT with its own keepalive pings,
/// enforces the per-peer frame rate (token bucket), closes idle and slow connections,
/// and hands every other frame to `onFrame`.
final class PeerFrameHandler: ChannelDuplexHandler {
    typealias InboundIn = Plexus_Frame
    typealias OutboundIn = Plexus_Frame
    typealias OutboundOut = Plexus_Frame

    private let connection: PeerConnection
    private let config: MeshConfig
    private let counters: MeshCounters
    private let onFrame: @Sendable (AgentID, Plexus_Frame) -> Void
    private var tokens: Double
    private var lastRefill = NIODeadline.now()
    private var nextNonce: UInt64 = 1  // keepalive nonces; ConnectionManager.ping uses the upper half
    private var pingsInFlight: [UInt64: NIODeadline] = [:]
    private var keepalive: RepeatedTask?
    private var unwritableSince: NIODeadline?
    private var peer: AgentID?

    init(connection: PeerConnection, config: MeshConfig, counters: MeshCounters, onFrame: @escaping @Sendable (AgentID, Plexus_Frame) -> Void) {
        self.connection = connection
        self.config = config
        self.counters = counters
        self.onFrame = onFrame
        self.tokens = config.frameBurst
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? HandshakeCompleted {
            peer = completed.peer.agentID
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            keepalive = context.eventLoop.scheduleRepeatedTask(initialDelay: config.keepaliveInterval, delay: config.keepaliveInterval) { _ in
                let (handler, context) = loopBound.value
                handler.sendPing(context: context)
            }
        } else if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            connection.close(MeshError.idleTimeout.reason)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let peer else { return }
        guard takeToken() else {
            connection.close(MeshError.rateLimited.reason)
            return
        }
        let frame = unwrapInboundIn(data)
        connection.update { $0.framesIn += 1 }
        counters.update { $0.framesIn += 1 }
        switch frame.kind {
        case .ping(let ping)?:
            var pong = Plexus_Pong()
            pong.nonce = ping.nonce
            var reply = Plexus_Frame()
            reply.kind = .pong(pong)
            send(reply, context: context)
        case .pong(let pong)?:
            if connection.pongReceived(pong.nonce) {
                break
            }
            if let sent = pingsInFlight.removeValue(forKey: pong.nonce) {
                let rtt = Double((NIODeadline.now() - sent).nanoseconds) / 1e6
                connection.update { $0.rttMs = rtt }
            }
        case .close(let close)?:
            connection.close("peer_closed: " + String(close.reason.prefix(64)))
        case nil:
            break  // a frame kind this version does not know: ignored (forward compatibility)
        default:
            onFrame(peer, frame)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        connection.update { $0.framesOut += 1 }
        counters.update { $0.framesOut += 1 }
        context.write(data, promise: promise)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        unwritableSince = context.channel.isWritable ? nil : (unwritableSince ?? .now())
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        keepalive?.cancel()
        connection.failPongWaiters()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let reason: String
        switch error {
        case let mesh as MeshError: reason = mesh.reason
        case let handshake as HandshakeError: reason = "handshake: " + Self.label(handshake)
        case is ByteToMessageDecoderError: reason = MeshError.malformedFrame.reason
        default: reason = "error"
        }
        connection.close(reason)
    }

    /// Sends a ping (keepalive and RTT). A peer that has not read for `slowPeerTimeout`
    /// while our queue is full is dropped: its queue must not grow without bound.
    private func sendPing(context: ChannelHandlerContext) {
        if let since = unwritableSince, NIODeadline.now() - since > config.slowPeerTimeout {
            connection.close(MeshError.slowPeer.reason)
            return
        }
        if pingsInFlight.count > 8 { pingsInFlight.removeAll() }
        let nonce = nextNonce
        nextNonce += 1
        pingsInFlight[nonce] = .now()
        var ping = Plexus_Ping()
        ping.nonce = nonce
        var frame = Plexus_Frame()
        frame.kind = .ping(ping)
        send(frame, context: context)
    }

    private func send(_ frame: Plexus_Frame, context: ChannelHandlerContext) {
        guard context.channel.isWritable else { return }  // control frames are dropped, never queued unbounded
        connection.update { $0.framesOut += 1 }
        counters.update { $0.framesOut += 1 }
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    private func takeToken() -> Bool {
        let now = NIODeadline.now()
        let elapsed = Double((now - lastRefill).nanoseconds) / 1e9
        lastRefill = now
        tokens = min(config.frameBurst, tokens + elapsed * config.frameRate)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    static func label(_ error: HandshakeError) -> String {
        switch error {
        case .noise(.decryptionFailed): "decryption_failed"
        case .noise: "noise_error"
        case .malformedPayload: "malformed_payload"
        case .badIdentitySignature: "bad_identity_signature"
        case .unexpectedPeer: "unexpected_peer"
        case .connectedToSelf: "self"
        }
    }
}
