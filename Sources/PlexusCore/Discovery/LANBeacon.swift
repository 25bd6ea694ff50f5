import Crypto
import Foundation

/// LAN discovery beacons (PROTOCOL.md §17): signed statements that an agent's mesh listens
/// on a port of the address the datagram came from, for one network key (by hash, so the
/// key itself is not broadcast). A receiver dials the address with the agent's id pinned,
/// so a beacon naming someone else's id leads only to a refused handshake.
public enum LANBeacon {
    /// The largest datagram read as a beacon.
    public static let maxBytes = 512
    /// How far a beacon's time may be from the receiver's clock.
    public static let maxSkewMs: Int64 = 5 * 60 * 1000

    /// The 8-byte tag of a network key.
    public static func networkTag(_ networkKey: String) -> Data {
        Data(SHA256.hash(data: Data(("plexus-network:" + networkKey).utf8)).prefix(8))
    }

    /// A signed beacon's bytes.
    public static func encode(key: AgentKey, port: Int, networkKey: String, timeMs: Int64) -> Data {
        var beacon = Plexus_Beacon()
        beacon.agent = key.id.bytes.asData
        beacon.port = UInt32(clamping: port)
        beacon.network = networkTag(networkKey)
        beacon.timeMs = UInt64(max(0, timeMs))
        beacon.signature = key.sign(domain: .beacon, signedBytes(of: beacon))
        // A message of fixed-size fields always encodes.
        return (try? beacon.serializedBytes()) ?? Data()
    }

    /// Why a datagram is not a beacon to act on, or its agent and port.
    public enum Reading: Equatable, Sendable {
        case beacon(agent: AgentID, port: Int)
        /// Not a well-formed, well-signed beacon.
        case malformed
        /// Another network's (or a time too far off).
        case foreign
        case stale
    }

    /// Reads a datagram received at `nowMs` on a node of `networkKey`.
    public static func read(_ datagram: Data, networkKey: String, nowMs: Int64) -> Reading {
        guard datagram.count <= maxBytes, let beacon = try? Plexus_Beacon(serializedBytes: datagram),
              let agent = AgentID(bytes: beacon.agent), (1...65_535).contains(beacon.port), beacon.signature.count == 64
        else { return .malformed }
        guard beacon.network == networkTag(networkKey) else { return .foreign }
        guard agent.verify(signature: beacon.signature, domain: .beacon, signedBytes(of: beacon)) else { return .malformed }
        guard abs(Int64(clamping: beacon.timeMs) - nowMs) <= maxSkewMs else { return .stale }
        return .beacon(agent: agent, port: Int(beacon.port))
    }

    /// `agent (32) ‖ port (2 bytes BE) ‖ network (8) ‖ time_ms (8 bytes BE)`.
    public static func signedBytes(of beacon: Plexus_Beacon) -> Data {
        var output = Data(beacon.agent)
        withUnsafeBytes(of: UInt16(clamping: beacon.port).bigEndian) { output.append(contentsOf: $0) }
        output.append(beacon.network)
        withUnsafeBytes(of: beacon.timeMs.bigEndian) { output.append(contentsOf: $0) }
        return output
    }
}
