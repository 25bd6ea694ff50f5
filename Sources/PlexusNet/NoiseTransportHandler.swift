import Foundation
import NIOCore
import NIOFoundationCompat
import PlexusCore
import PlexusProtocol

/// Runs the Plexus handshake over Noise messages (already de-framed by the 2-byte length
/// decoder below it), then encrypts and decrypts the byte stream of application frames.
///
/// Inbound: Noise messages in, plaintext bytes out. Outbound: plaintext bytes in, Noise
/// messages out, split so that none exceeds 65,535 bytes. Nothing passes before the
/// handshake completes; a handshake that fails or times out closes the channel.
final class NoiseTransportHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Largest plaintext carried in one transport message.
    static let maxChunk = CipherState.maxMessageLength - CipherState.tagLength

    private enum State {
        case handshaking(PlexusHandshake)
        case transport(send: CipherState, receive: CipherState)
        case failed
    }

    private var state: State
    private let isInitiator: Bool
    private let timeout: TimeAmount
    private let completion: EventLoopPromise<PeerIdentity>
    private var timeoutTask: Scheduled<Void>?
    private var resolved = false

    /// - Parameter completion: succeeded with the verified peer, or failed with the
    ///   `HandshakeError` / `MeshError` that ended the attempt.
    init(handshake: PlexusHandshake, isInitiator: Bool, timeout: TimeAmount, completion: EventLoopPromise<PeerIdentity>) {
        self.state = .handshaking(handshake)
        self.isInitiator = isInitiator
        self.timeout = timeout
        self.completion = completion
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard timeoutTask == nil, case .handshaking(var handshake) = state else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeoutTask = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = loopBound.value
            handler.fail(MeshError.handshakeTimeout, context: context)
        }
        if isInitiator {
            do {
                let first = try handshake.start()
                state = .handshaking(handshake)
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: first)), promise: nil)
            } catch {
                fail(error, context: context)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        switch state {
        case .handshaking(var handshake):
            do {
                let reply = try handshake.receive(Data(buffer: message))
                if let reply {
                    context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: reply)), promise: nil)
                }
                if handshake.isComplete, let peer = handshake.peer {
                    let ciphers = try handshake.transportCiphers()
                    state = .transport(send: ciphers.send, receive: ciphers.receive)
                    timeoutTask?.cancel()
                    resolve(.success(peer))
                    context.fireUserInboundEventTriggered(HandshakeCompleted(peer: peer))
                } else {
                    state = .handshaking(handshake)
                }
            } catch {
                fail(error, context: context)
            }
        case .transport(let send, var receive):
            do {
                let plaintext = try message.withUnsafeReadableBytes { bytes throws(NoiseError) in
                    try receive.decrypt(ad: EmptyBytes(), ciphertext: bytes)
                }
                state = .transport(send: send, receive: receive)
                context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: plaintext)))
            } catch {
                fail(MeshError.decryptionFailed, context: context)
            }
        case .failed:
            break
        }
    }

    /// Plaintext written since the last flush: frames written together share Noise
    /// messages (up to `maxChunk` bytes each) instead of paying a message per frame.
    private var pending = ByteBuffer()
    private var pendingPromises: [EventLoopPromise<Void>] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .transport = state else {
            promise?.fail(MeshError.notConnected)
            return
        }
        var plaintext = unwrapOutboundIn(data)
        pending.writeBuffer(&plaintext)
        if let promise { pendingPromises.append(promise) }
        if pending.readableBytes >= Self.maxChunk { encryptPending(context: context) }
    }

    func flush(context: ChannelHandlerContext) {
        encryptPending(context: context)
        context.flush()
    }

    /// Encrypts what is pending into Noise messages and passes them down (unflushed).
    private func encryptPending(context: ChannelHandlerContext) {
        guard case .transport(var send, let receive) = state, pending.readableBytes > 0 else { return }
        let promises = pendingPromises
        pendingPromises = []
        do {
            var last: EventLoopFuture<Void>?
            while pending.readableBytes > 0 {
                // readSlice cannot fail for a length within readableBytes.
                let chunk = pending.readSlice(length: min(pending.readableBytes, Self.maxChunk))!
                let ciphertext = try chunk.withUnsafeReadableBytes { bytes throws(NoiseError) in
                    try send.encrypt(ad: EmptyBytes(), plaintext: bytes)
                }
                last = context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: ciphertext)))
            }
            pending.clear()
            state = .transport(send: send, receive: receive)
            if let last { for promise in promises { last.cascade(to: promise) } }
        } catch {
            for promise in promises { promise.fail(error) }
            fail(error, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeoutTask?.cancel()
        resolve(.failure(MeshError.closedDuringHandshake))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error, context: context)
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        resolve(.failure(error))
        state = .failed
        timeoutTask?.cancel()
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}


extension NoiseTransportHandler {
    /// Completes the handshake promise once; later outcomes are ignored.
    private func resolve(_ result: Result<PeerIdentity, any Error>) {
        guard !resolved else { return }
        resolved = true
        completion.completeWith(result)
    }
}

/// The empty associated data of transport messages (Noise spec §5.1), without allocating.
private typealias EmptyBytes = EmptyCollection<UInt8>
