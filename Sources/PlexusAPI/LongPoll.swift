import Hummingbird
import NIOCore
import ServiceLifecycle

extension APIRequestContext {
    /// Runs a request that may wait long (a long poll) so that it ends early — its task
    /// cancelled, answering with what it has — when the node shuts down or when the client
    /// closes its connection. A worker's poll whose client is gone must not lease a task
    /// nobody will run; a gone reader must not hold a waiter. A request that does not
    /// wait (`waitMs` nil or 0) just runs.
    func longPoll<T: Sendable>(waitMs: Int?, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await longPoll(waits: (waitMs ?? 0) > 0, body)
    }

    /// The same, for a request that says otherwise whether it may wait.
    func longPoll<T: Sendable>(waits: Bool, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        guard waits else { return try await body() }
        let work = Task { try await cancelWhenGracefulShutdown { try await body() } }
        let watcher = ClientGoneHandler { work.cancel() }
        // Hummingbird keeps a connection open when its client half-closes it, so the close
        // is seen as the input ending, by a handler in front of the HTTP ones.
        let added = (try? await channel.pipeline.addHandler(watcher, position: .first).get()) != nil
        defer { if added { channel.pipeline.removeHandler(watcher, promise: nil) } }
        return try await withTaskCancellationHandler {
            try await work.value
        } onCancel: {
            work.cancel()
        }
    }
}

/// Calls `onGone` once the client has closed its side of the connection or the
/// connection has ended; passes everything on unchanged.
final class ClientGoneHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    private let onGone: @Sendable () -> Void

    init(onGone: @escaping @Sendable () -> Void) {
        self.onGone = onGone
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { onGone() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        onGone()
        context.fireChannelInactive()
    }
}
