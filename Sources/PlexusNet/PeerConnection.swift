import NIOCore
import PlexusCore
import Synchronization

/// One mesh connection and its live statistics.
public final class PeerConnection: Sendable {
    let channel: any Channel
    /// The remote IP, for per-IP caps.
    let ip: String
    private let state: Mutex<(info: PeerView, closeReason: String?)>

    init(channel: any Channel, direction: PeerView.Direction, nowMs: Int64) {
        self.channel = channel
        let remote = channel.remoteAddress
        self.ip = remote?.ipAddress ?? "unknown"
        let address = remote.map { address in
            (address.ipAddress.map { $0.contains(":") ? "[\($0)]" : $0 } ?? "?") + ":" + String(address.port ?? 0)
        } ?? "unknown"
        state = Mutex((PeerView(address: address, direction: direction, connectedMs: nowMs), nil))
    }

    public var info: PeerView { state.withLock { $0.info } }

    var agentID: AgentID? { state.withLock { $0.info.agentID } }

    /// Why the connection ended, when this side knows (an error, a limit); nil otherwise.
    var closeReason: String? { state.withLock { $0.closeReason } }

    func update(_ body: (inout PeerView) -> Void) { state.withLock { body(&$0.info) } }

    /// Records the first reason given for closing.
    func noteClose(_ reason: String) {
        state.withLock { if $0.closeReason == nil { $0.closeReason = reason } }
    }

    /// Frames that arrived before the connection manager registered this connection (and
    /// told subscribers the peer is up): held, so that no subscriber sees a peer's frame
    /// before its `peerUp`. Nil once released.
    private let heldFrames = Mutex<[Plexus_Frame]?>([])

    /// Most frames held before registration; a peer that sends more is closed.
    static let maxHeldFrames = 1024

    /// Passes `frame` to `deliver` once the connection is released, holds it until then;
    /// false when `maxHeldFrames` are already held.
    func deliverInOrder(_ frame: Plexus_Frame, _ deliver: (Plexus_Frame) -> Void) -> Bool {
        heldFrames.withLock { held in
            guard let count = held?.count else {
                deliver(frame)
                return true
            }
            guard count < Self.maxHeldFrames else { return false }
            held?.append(frame)
            return true
        }
    }

    /// Ends holding: passes what was held to `deliver`, in order, before any later frame.
    func release(_ deliver: (Plexus_Frame) -> Void) {
        heldFrames.withLock { held in
            for frame in held ?? [] { deliver(frame) }
            held = nil
        }
    }

    /// Send batches handed to the event loop and not yet written. Together with the
    /// channel's writability this bounds what a peer that stops reading can make us hold.
    let queuedBatches = Atomic<Int>(0)

    /// A flush of the batches written so far is queued on the event loop (only the loop
    /// reads and writes it).
    let flushPending = Atomic<Bool>(false)

    /// Waiters for pongs to pings sent with `ConnectionManager.ping`, by nonce.
    private let pongWaiters = Mutex<[UInt64: CheckedContinuation<Bool, Never>]>([:])

    /// Registers a waiter for the pong to `nonce`; it resumes with true on the pong, false
    /// when the connection closes first.
    func awaitPong(_ nonce: UInt64, registered: () -> Void) async -> Bool {
        await withCheckedContinuation { continuation in
            pongWaiters.withLock { $0[nonce] = continuation }
            registered()
        }
    }

    /// A pong arrived; true if someone was waiting for it.
    func pongReceived(_ nonce: UInt64) -> Bool {
        guard let waiter = pongWaiters.withLock({ $0.removeValue(forKey: nonce) }) else { return false }
        waiter.resume(returning: true)
        return true
    }

    /// Fails every pending ping (the connection closed).
    func failPongWaiters() {
        let waiters = pongWaiters.withLock { waiters in
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: false) }
    }

    /// Closes the connection for `reason`.
    func close(_ reason: String) {
        noteClose(reason)
        channel.close(promise: nil)
    }
}
