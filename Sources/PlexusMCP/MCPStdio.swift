import AsyncAlgorithms
import Foundation
import Glibc
import NIOPosix
import PlexusCore

/// MCP over stdio: one message per line on stdin, one reply per line on stdout (MCP
/// "stdio" transport). Requests run concurrently and are answered as they finish. At the
/// end of stdin the requests still running are answered, then it returns; when stdout is
/// closed (the client has gone), the running requests are cancelled and it returns at the
/// end of stdin.
public enum MCPStdio {
    /// The default bound on one message: the node behind applies its own, finer limits.
    public static let defaultMaxMessageBytes = 4 * 1024 * 1024

    /// Serves one session on the process's stdin and stdout until stdin ends.
    ///
    /// stdin and stdout may be pipes, terminals or regular files (`plexus mcp < requests`), so
    /// they are read and written with blocking calls on two threads of their own rather than
    /// through an event loop, which takes only pipes and sockets.
    /// - Parameter maxMessageBytes: longer lines are refused with an error and skipped.
    public static func serve(_ server: PlexusMCPServer, maxMessageBytes: Int) async throws {
        let threads = NIOThreadPool(numberOfThreads: 2)
        threads.start()
        defer { threads.shutdownGracefully { _ in } }
        let session = MCPSession(server: server)
        // Replies wait for the writer (a client that does not read holds up the reader
        // rather than filling memory); the channel ends with stdin or with stdout.
        let replies = AsyncChannel<Data>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await reply in replies {
                    let written = try await threads.runIfActive { try write(reply + [UInt8(ascii: "\n")], to: STDOUT_FILENO) }
                    if !written {
                        replies.finish()
                        await session.close()
                    }
                }
            }
            group.addTask {
                defer { replies.finish() }
                // Messages are admitted in the order they arrive (a cancel finds the request
                // it names); the session bounds how many run. Ended requests are dropped
                // from the group as they end.
                try await withThrowingDiscardingTaskGroup { requests in
                    var lines = LineSplitter(maxLineBytes: maxMessageBytes)
                    while !Task.isCancelled {
                        let chunk: Data
                        do {
                            chunk = try await threads.runIfActive { try read(from: STDIN_FILENO) }
                        } catch {
                            await session.close()
                            throw error
                        }
                        if chunk.isEmpty { break }
                        for line in lines.append(chunk) {
                            guard case .line(let message) = line else {
                                await replies.send(JSONRPCReply.error(id: nil, .invalidRequest("message longer than \(maxMessageBytes) bytes; skipped")))
                                continue
                            }
                            switch await session.admit(message) {
                            case .reply(let reply), .refused(let reply): await replies.send(reply)
                            case .none: break
                            case .started(let started):
                                requests.addTask {
                                    // A request the client cancelled is not answered.
                                    let (reply, cancelled) = await session.finish(started)
                                    if !cancelled { await replies.send(reply) }
                                }
                            case .batch(let batch):
                                requests.addTask {
                                    let reply = await withTaskCancellationHandler { await batch.value } onCancel: { batch.cancel() }
                                    if let reply { await replies.send(reply) }
                                }
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// One chunk of what `descriptor` holds next; empty at its end.
    private static func read(from descriptor: CInt) throws(PlexusError) -> Data {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count >= 0 { return Data(buffer[..<count]) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: wait(for: descriptor, events: Int16(POLLIN))
            default: throw PlexusError(.internal, "cannot read stdin: errno \(errno)")
            }
        }
    }

    /// Writes all of `data` to `descriptor`; false when its reader has gone (EPIPE).
    private static func write(_ data: Data, to descriptor: CInt) throws(PlexusError) -> Bool {
        var offset = 0
        while offset < data.count {
            let count = data.withUnsafeBytes { bytes in
                bytes.baseAddress.map { Glibc.write(descriptor, $0 + offset, bytes.count - offset) } ?? 0
            }
            if count >= 0 {
                offset += count
                continue
            }
            switch errno {
            case EINTR: continue
            case EPIPE: return false
            case EAGAIN, EWOULDBLOCK: wait(for: descriptor, events: Int16(POLLOUT))
            default: throw PlexusError(.internal, "cannot write stdout: errno \(errno)")
            }
        }
        return true
    }

    /// Blocks until a non-blocking descriptor is ready.
    private static func wait(for descriptor: CInt, events: Int16) {
        var request = pollfd(fd: descriptor, events: events, revents: 0)
        _ = poll(&request, 1, -1)
    }
}

/// Splits a byte stream into lines (LF, an optional CR before it dropped), with a bound on
/// a line's length: a longer line is reported once as `.tooLong` and its bytes dropped up to
/// its end.
struct LineSplitter {
    enum Line: Equatable {
        case line(Data)
        case tooLong
    }

    let maxLineBytes: Int
    private var pending = Data()
    private var skipping = false

    init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    /// The lines completed by `chunk`; empty lines are dropped.
    mutating func append(_ chunk: Data) -> [Line] {
        var lines: [Line] = []
        var rest = chunk[...]
        while !rest.isEmpty {
            guard let newline = rest.firstIndex(of: UInt8(ascii: "\n")) else {
                if !skipping { pending.append(contentsOf: rest) }
                if !skipping, pending.count > maxLineBytes {
                    lines.append(.tooLong)
                    pending = Data()
                    skipping = true
                }
                break
            }
            if skipping {
                skipping = false
            } else {
                pending.append(contentsOf: rest[rest.startIndex..<newline])
                if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
                if pending.count > maxLineBytes {
                    lines.append(.tooLong)
                } else if !pending.isEmpty {
                    lines.append(.line(pending))
                }
            }
            pending = Data()
            rest = rest[rest.index(after: newline)...]
        }
        return lines
    }
}
