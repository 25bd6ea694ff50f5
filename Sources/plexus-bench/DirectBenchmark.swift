import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore
import Synchronization

/// `plexus-bench dm`: direct messages between two `plexus serve` processes on 127.0.0.1:
/// sequential round trips (send until the recipient's acknowledgement) with p50 and p99,
/// then messages per second with many senders at once.
struct DirectBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dm", abstract: "Direct messages per second and acknowledged round trip p50/p99 between two processes.")

    @Option(help: "Sequential messages for the latency figures.")
    var sequential = 500

    @Option(help: "Messages for the throughput figure.")
    var messages = 4000

    @Option(help: "Senders at once for the throughput figure.")
    var senders = 32

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-bench-dm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let b = try ServeNode(directory: root.appendingPathComponent("b"))
        let bClient = try await b.ready()
        let a = try ServeNode(directory: root.appendingPathComponent("a"), arguments: ["--peer", b.meshAddress])
        let aClient = try await a.ready()
        defer { a.stop(); b.stop() }
        let bID = try await bClient.identity().agentID
        try await until("A knows B's record", within: .seconds(60)) { (try? await aClient.agent(bID)) != nil }
        func send(_ n: Int) async throws {
            let message = try await aClient.sendDirect(
                DirectSendRequest(to: bID, content: .object(["text": .string("message \(n)")]), waitMs: 30_000))
            guard message.state == .delivered else { throw BenchmarkError("message \(n) ended \(message.state)") }
        }
        for n in 0..<20 { try await send(n) }  // warm-up
        var latency = LatencySamples()
        for n in 0..<sequential {
            let start = ContinuousClock.now
            try await send(n)
            latency.add(ContinuousClock.now - start)
        }
        let next = MessageCounter()
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<senders {
                group.addTask {
                    while true {
                        let n = next.value.wrappingAdd(1, ordering: .relaxed).oldValue
                        guard n < messages else { return }
                        try await send(n)
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = (ContinuousClock.now - start).seconds
        let received = try await bClient.conversations().first?.messages ?? 0
        try printJSON([
            "scenario": "dm", "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount],
            "sequential": ["messages": sequential, "p50_ms": latency.percentile(50), "p99_ms": latency.percentile(99)],
            "throughput": ["messages": messages, "senders": senders, "seconds": seconds, "messages_per_s": Double(messages) / seconds],
            "received_total": received,
        ])
    }
}

/// The next message number, shared by the senders.
private final class MessageCounter: Sendable {
    let value = Atomic<Int>(0)
}
