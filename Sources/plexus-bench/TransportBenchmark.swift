import ArgumentParser
import Foundation
import Logging
import NIOCore
import PlexusCore
import PlexusNet

/// `plexus-bench transport`: two processes on 127.0.0.1 — this one dialling, a
/// `transport-peer` child listening — measure handshakes/s and frames/s and MB/s.
struct TransportBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transport", abstract: "Handshakes/s, and frames/s and MB/s for 64 B and 16 KiB frames, between two processes.")

    @Option(help: "Seconds per measurement.")
    var seconds = 5.0

    @Option(help: "Concurrent dialers for the handshake measurement.")
    var dialers = 8

    func run() async throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["transport-peer"]
        let output = Pipe()
        child.standardOutput = output
        child.standardInput = Pipe()
        child.standardError = FileHandle.nullDevice
        try child.run()
        defer {
            child.terminate()
            child.waitUntilExit()
        }
        let ready = try Self.readLine(output.fileHandleForReading).split(separator: " ")
        guard ready.count == 3, ready[0] == "READY", let port = Int(ready[1]), let peer = AgentID(ready[2]) else {
            throw ValidationError("transport-peer did not start")
        }
        var result: [String: Any] = ["scenario": "transport", "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount]]
        result["handshakes"] = try await measureHandshakes(port: port)
        result["frames_64B"] = try await measureFrames(port: port, peer: peer, frameBytes: 64, target: ["frames_per_s": 200_000])
        result["frames_16KiB"] = try await measureFrames(port: port, peer: peer, frameBytes: 16 * 1024, target: ["mb_per_s": 500])
        try printJSON(result)
    }

    private func measureHandshakes(port: Int) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(seconds)
        let start = ContinuousClock.now
        let completed = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<dialers {
                group.addTask {
                    let manager = ConnectionManager(identity: AgentKey(), config: Self.config(), logger: Self.quiet)
                    var count = 0
                    while ContinuousClock.now < deadline {
                        let info = try await manager.connect(host: "127.0.0.1", port: port)
                        if let id = info.agentID { await manager.disconnect(id) }
                        count += 1
                    }
                    await manager.shutdown()
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = (ContinuousClock.now - start).seconds
        return ["handshakes": completed, "seconds": elapsed, "dialers": dialers,
                "handshakes_per_s": Double(completed) / elapsed, "target_handshakes_per_s": 2000]
    }

    private func measureFrames(port: Int, peer: AgentID, frameBytes: Int, target: [String: Int]) async throws -> [String: Any] {
        let manager = ConnectionManager(identity: AgentKey(), config: Self.config(), logger: Self.quiet)
        defer { Task { await manager.shutdown() } }
        try await manager.connect(host: "127.0.0.1", port: port, expectedPeer: peer)
        // A Message frame whose encoded size (with its 4-byte length prefix) is frameBytes:
        // start from an estimate and correct by the measured difference.
        var message = Plexus_Message()
        message.channel = "bench"
        var payloadBytes = frameBytes - 16
        var frame = Plexus_Frame()
        var encoded = Data()
        for _ in 0..<4 {
            message.payload = Data(count: max(0, payloadBytes))
            frame.kind = .message(message)
            encoded = try frame.serializedBytes()
            payloadBytes += frameBytes - (encoded.count + 4)
        }
        let wireBytes = encoded.count + 4
        let batch = [Plexus_Frame](repeating: frame, count: max(1, 256 * 1024 / wireBytes))
        let deadline = ContinuousClock.now + .seconds(seconds)
        let start = ContinuousClock.now
        var sent = 0
        while ContinuousClock.now < deadline {
            if manager.send(batch, to: peer) {
                sent += batch.count
            } else {
                _ = try await manager.ping(peer, timeout: .seconds(60))  // queue full: wait until the peer has caught up
            }
        }
        do {
            _ = try await manager.ping(peer, timeout: .seconds(60))  // every frame sent has been received
        } catch {
            throw ValidationError("ping after \(sent) frames failed: \(error); closed: \(manager.counters.snapshot.closed)")
        }
        let elapsed = (ContinuousClock.now - start).seconds
        var result: [String: Any] = [
            "frame_bytes": wireBytes, "frames": sent, "seconds": elapsed,
            "frames_per_s": Double(sent) / elapsed, "mb_per_s": Double(sent * wireBytes) / elapsed / 1e6,
        ]
        for (key, value) in target { result["target_" + key] = value }
        return result
    }

    static let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

    static func config(listen: Bool = false) -> MeshConfig {
        MeshConfig(
            listenHost: listen ? "127.0.0.1" : nil, listenPort: 0, networkKey: "bench",
            maxConnections: 100_000, maxConnectionsPerIP: 100_000, frameRate: 1e9, frameBurst: 1e9,
            sendQueueBytes: 8 << 20)
    }

    static func readLine(_ handle: FileHandle) throws -> String {
        var data = Data()
        while !data.contains(UInt8(ascii: "\n")) {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            data.append(chunk)
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The listening side of `plexus-bench transport`, run as a child process. Prints
/// `READY <port> <agent id>` and serves until its standard input closes.
struct TransportPeer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "transport-peer", shouldDisplay: false)

    func run() async throws {
        let key = AgentKey()
        let manager = ConnectionManager(identity: key, config: TransportBenchmark.config(listen: true), logger: TransportBenchmark.quiet)
        guard let address = try await manager.start(), let port = address.split(separator: ":").last else {
            throw ValidationError("cannot listen")
        }
        FileHandle.standardOutput.write(Data("READY \(port) \(key.id)\n".utf8))
        // Stdin closes when the parent exits; then stop.
        _ = FileHandle.standardInput.readDataToEndOfFile()
        await manager.shutdown()
    }
}
