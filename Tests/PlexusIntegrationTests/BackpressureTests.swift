import Foundation
import Logging
import PlexusCore
import PlexusNet
import Testing

/// A peer that completes the handshake and then never reads: what is queued for it stays
/// bounded, and sends are refused instead of buffered.
@Suite struct BackpressureTests {
    @Test func sendsToAPeerThatStopsReadingAreRefusedOnceItsQueueIsFull() async throws {
        let directory = try TempDirectory()
        try await PythonPeer.ensurePackages(home: directory.path)
        let (python, port, _) = try await PythonPeer.startResponder(networkKey: "stall", home: directory.path, mode: "stall")
        defer { kill(python.processIdentifier, SIGKILL) }  // SIGTERM may be blocked by an inherited mask

        let queueBytes = 1 << 20
        let manager = ConnectionManager(
            identity: AgentKey(),
            config: MeshConfig(networkKey: "stall", sendQueueBytes: queueBytes),
            logger: Logger(label: "test"))
        let peer = try #require(try await manager.connect(host: "127.0.0.1", port: port).agentID)

        var message = Plexus_Message()
        message.channel = "test"
        message.payload = Data(count: 16 * 1024)
        let frame = Plexus_Frame.with { $0.kind = .message(message) }
        var accepted = 0
        var refusedInARow = 0
        let deadline = ContinuousClock.now + .seconds(120)
        // Offer up to 64 MiB; a peer that reads nothing must stop us long before that. A
        // refusal is tried again: a queue that only lagged its event loop drains, one held by
        // a peer that reads nothing stays full. Counted, not timed: a loaded machine (the
        // whole suite at once) only makes this slower.
        while accepted < 4096, refusedInARow < 100, ContinuousClock.now < deadline {
            if manager.send([frame], to: peer) {
                accepted += 1
                refusedInARow = 0
            } else {
                refusedInARow += 1
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        #expect(refusedInARow == 100, "sends were not refused for good (\(accepted) accepted)")
        #expect(accepted > 0, "nothing was ever sent")
        // Accepted bytes: at most the queue plus what the kernel socket buffers absorbed.
        let acceptedBytes = accepted * 16 * 1024
        #expect(acceptedBytes < queueBytes + 16 << 20, "accepted \(acceptedBytes) bytes for a peer that reads nothing")
        await manager.shutdown()
    }
}
