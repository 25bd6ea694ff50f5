import Foundation
import PlexusCore
import Testing

/// LAN beacons: read back by a node of the same network, refused when forged, changed,
/// of another network or too old.
@Suite struct LANBeaconTests {
    let key = AgentKey()
    let now: Int64 = 1_800_000_000_000

    @Test func aBeaconOfThisNetworkIsRead() {
        let beacon = LANBeacon.encode(key: key, port: 7465, networkKey: "lab", timeMs: now)
        #expect(LANBeacon.read(beacon, networkKey: "lab", nowMs: now + 1000) == .beacon(agent: key.id, port: 7465))
        #expect(beacon.count <= LANBeacon.maxBytes)
    }

    @Test func othersAreRefused() throws {
        let beacon = LANBeacon.encode(key: key, port: 7465, networkKey: "lab", timeMs: now)
        #expect(LANBeacon.read(beacon, networkKey: "elsewhere", nowMs: now) == .foreign)
        #expect(LANBeacon.read(beacon, networkKey: "lab", nowMs: now + LANBeacon.maxSkewMs + 1) == .stale)
        #expect(LANBeacon.read(Data("not a beacon".utf8), networkKey: "lab", nowMs: now) == .malformed)
        #expect(LANBeacon.read(Data(repeating: 0, count: LANBeacon.maxBytes + 1), networkKey: "lab", nowMs: now) == .malformed)
        // Another port, or another agent's id, under the same signature: refused.
        var changed = try Plexus_Beacon(serializedBytes: beacon)
        changed.port = 7466
        #expect(LANBeacon.read(try changed.serializedBytes(), networkKey: "lab", nowMs: now) == .malformed)
        var impostor = try Plexus_Beacon(serializedBytes: beacon)
        impostor.agent = AgentKey().id.bytes.asData
        #expect(LANBeacon.read(try impostor.serializedBytes(), networkKey: "lab", nowMs: now) == .malformed)
    }
}
