/// Which consumer an application frame is for (DESIGN §2, mesh channels): its kind in the
/// `Frame` oneof, and for `Message` frames the channel the message names. The transport
/// routes frames by this value to whichever subsystem registered it and knows nothing of
/// what the frames mean; a new feature adds a channel, not a case in the transport.
public enum FrameChannel: Hashable, Sendable {
    case gossip
    case task
    case dht
    case blob
    case direct
    /// A `Message` frame on a named channel (features added later).
    case message(String)

    /// The channel of an application frame; nil for the transport's own frames (ping,
    /// pong, close) and for kinds this build does not know.
    public init?(of frame: Plexus_Frame) {
        switch frame.kind {
        case .gossip: self = .gossip
        case .task: self = .task
        case .dht: self = .dht
        case .blob: self = .blob
        case .direct: self = .direct
        case .message(let message): self = .message(message.channel)
        case .ping, .pong, .close, nil: return nil
        }
    }
}
