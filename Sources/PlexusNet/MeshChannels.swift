import PlexusCore
import Synchronization

/// Something that happened on the mesh, for a subsystem that registered for it.
public enum MeshEvent: Sendable {
    /// A peer completed its handshake; `ip` is the remote address of the connection, and
    /// `bootstrap` says this node dialled it to keep a configured or remembered peer.
    case peerUp(AgentID, ip: String, bootstrap: Bool)
    case peerDown(AgentID)
    /// A frame from a peer on one of the subsystem's channels.
    case frame(AgentID, Plexus_Frame)
}

/// The mesh channel registry (DESIGN §2): subsystems register the frame channels they
/// consume and get one bounded, ordered stream of those frames (and, if they ask, of peers
/// coming and going, in order with the frames). Frames on channels nobody registered are
/// dropped and counted. Read from the event loops without entering an actor.
final class MeshChannels: Sendable {
    private struct Subscriber {
        let channels: Set<FrameChannel>
        let peerEvents: Bool
        let sink: MeshEventStream
    }

    private let subscribers = Mutex<[Subscriber]>([])

    /// A stream of the frames on `channels`, and with `peerEvents` of peers coming and
    /// going. Beyond `bufferSize` events waiting, further ones are dropped (their senders
    /// repair or time out). A channel has one consumer: registering it twice is a bug.
    func register(_ channels: Set<FrameChannel>, peerEvents: Bool, bufferSize: Int) -> MeshEventStream {
        let stream = MeshEventStream(capacity: bufferSize)
        subscribers.withLock { list in
            precondition(list.allSatisfy { $0.channels.isDisjoint(with: channels) }, "mesh channel registered twice: \(channels)")
            list.append(Subscriber(channels: channels, peerEvents: peerEvents, sink: stream))
        }
        return stream
    }

    /// Hands a frame to the subscriber of its channel; false when nobody consumes it.
    func deliver(_ frame: Plexus_Frame, from peer: AgentID) -> Bool {
        guard let channel = FrameChannel(of: frame) else { return false }
        let sink = subscribers.withLock { list in list.first { $0.channels.contains(channel) }?.sink }
        guard let sink else { return false }
        sink.yield(.frame(peer, frame))
        return true
    }

    /// Tells every subscriber that asked for peer events.
    func peerEvent(_ event: MeshEvent) {
        for subscriber in subscribers.withLock({ $0 }) where subscriber.peerEvents {
            subscriber.sink.yield(event)
        }
    }

    /// Ends every stream (shutdown).
    func finish() {
        for subscriber in subscribers.withLock({ $0 }) { subscriber.sink.finish() }
    }
}
