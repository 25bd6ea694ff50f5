import Foundation
import NIOCore
import NIOPosix
import PlexusCore
import Testing

/// A worker's long poll whose client closes its connection ends at once (answering
/// nothing) instead of waiting on and leasing the next task for nobody.
@Suite struct LongPollClientGoneTests {
    @Test func aPollWhoseClientClosedItsSideLeasesNothing() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        let (answer, waited) = try await Self.sendThenLeave(node, until: "\"task\"", request: """
            GET /v1/tasks/next?capability=echo&wait_ms=30000 HTTP/1.1\r
            Host: \(node.apiAddress)\r
            Authorization: Bearer \(node.token)\r
            \r

            """)
        #expect(answer.contains(#""task":null"#), "\(answer)")
        #expect(waited < .seconds(10), "the poll waited on after its client left")
        try await Self.expectTheNextTaskGoesToALivePoll(node, number: 1)
        _ = try await node.stop()
    }

    /// The same for MCP: a `next_task` call with `wait_ms` whose HTTP client leaves ends at
    /// once, and the next task goes to a worker that is still there.
    @Test func anMCPCallWhoseClientClosedItsSideLeasesNothing() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        let session = try await MCPInteropTests.openSession(node)
        let call = #"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"next_task","arguments":{"capability":"echo","wait_ms":30000}}}"#
        let (answer, waited) = try await Self.sendThenLeave(node, until: #""id":3"#, request: """
            POST /mcp HTTP/1.1\r
            Host: \(node.apiAddress)\r
            Authorization: Bearer \(node.token)\r
            Accept: application/json, text/event-stream\r
            Content-Type: application/json\r
            Mcp-Session-Id: \(session)\r
            Content-Length: \(call.utf8.count)\r
            \r
            \(call)
            """)
        #expect(waited < .seconds(10), "the call waited on after its client left: \(answer)")
        try await Self.expectTheNextTaskGoesToALivePoll(node, number: 2)
        _ = try await node.stop()
    }

    /// Sends a raw HTTP request that waits for an `echo` task, half-closes the connection
    /// once the request is waiting on the node, and reads until `marker`: what was read, and
    /// how long after the close.
    static func sendThenLeave(_ node: ServeProcess, until marker: String, request: String) async throws -> (String, Duration) {
        let target = try HostPort.parse(node.apiAddress, defaultHost: "127.0.0.1")
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .connect(host: target.host, port: target.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            // The request is waiting once a short poll sent after it has ended.
            _ = try await node.client.nextTask(capability: "other", waitMs: 300, leaseMs: 30_000)
            let asked = ContinuousClock.now
            outbound.finish()  // half-close: the client is done sending, and still reads
            var text = ""
            for try await var chunk in inbound {
                text += chunk.readString(length: chunk.readableBytes) ?? ""
                if text.contains(marker) { break }
            }
            return (text, ContinuousClock.now - asked)
        }
    }

    /// Works: a task sent now goes to a poll that is still there, not to the one that left.
    static func expectTheNextTaskGoesToALivePoll(_ node: ServeProcess, number: Int64) async throws {
        let sent = try await HTTPAPITests.request(
            node, .POST, "/v1/tasks", token: node.token, body: #"{"capability":"echo","payload":{"n":\#(number)},"wait_ms":0}"#)
        #expect(sent.status == 201 || sent.status == 200, "\(sent.json)")
        let taken = try await node.client.nextTask(capability: "echo", waitMs: 5_000, leaseMs: 30_000)
        #expect(taken?.payload == .object(["n": .integer(number)]))
    }
}
