import PlexusCore

/// Something that happened on the mesh, for the layers above the transport.
public enum MeshEvent: Sendable {
    /// A peer completed its handshake; `ip` is the remote address of the connection.
    case peerUp(AgentID, ip: String)
    case peerDown(AgentID)
    /// A gossip frame from a peer.
    case frame(AgentID, Plexus_Frame)
}
