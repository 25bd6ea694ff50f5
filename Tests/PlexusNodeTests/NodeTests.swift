import Foundation
import Logging
import PlexusCore
import PlexusStore
import Testing
@testable import PlexusNode

/// The node actor over a real data directory and SQLite store.
@Suite struct NodeTests {
    func openNode() throws -> (Node, URL) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-node-\(UUID().uuidString)")
        let config = NodeConfig(dataDirectory: url.path)
        let node = try Node.open(config: config, logger: Logger(label: "test")) { () throws(PlexusError) in nil }
        return (node, url)
    }

    @Test func publishSignsChainsAndStores() async throws {
        let (node, url) = try openNode()
        defer { try? FileManager.default.removeItem(at: url) }
        let first = try await node.publish(EntryDraft(content: .object(["text": .string("one")])))
        let second = try await node.publish(EntryDraft(type: "query", content: .object(["text": .string("two")])))
        #expect(first.entry.seq == 1)
        #expect(second.entry.seq == 2)
        #expect(second.entry.prev == first.entry.id)
        #expect(second.entry.author == node.id)
        // What was stored verifies from its bytes alone.
        #expect(try SignedEntry(encoded: second.entry.encoded()).id == second.entry.id)
    }

    @Test func ingestRefusesForgedEntriesAndLeavesTheStoreUnchanged() async throws {
        let (node, url) = try openNode()
        defer { try? FileManager.default.removeItem(at: url) }
        let other = AgentKey()
        let genuine = try SignedEntry(
            signing: try EntryDraft(content: .object(["text": .string("real")])).body(seq: 1, prev: nil, timeMs: 0), with: other)
        var forged = Plexus_Entry()
        forged.body = genuine.body
        forged.signature = AgentKey().sign(domain: .entry, genuine.body)  // signed by someone else
        let error = await #expect(throws: PlexusError.self) { try await node.submit(encoded: try forged.serializedBytes()) }
        #expect(error?.code == .badSignature)
        let garbage = await #expect(throws: PlexusError.self) { try await node.submit(encoded: Data(repeating: 0xEE, count: 64)) }
        #expect(garbage?.code == .malformedEntry)
        #expect(try await node.status().store.entries == 0)

        #expect(try await node.submit(encoded: genuine.encoded()).stored != nil)
        #expect(try await node.status().store.entries == 1)
    }

    @Test func publishRefusesPastExpiry() async throws {
        let (node, url) = try openNode()
        defer { try? FileManager.default.removeItem(at: url) }
        let error = await #expect(throws: PlexusError.self) {
            try await node.publish(EntryDraft(content: .object([:]), expiresMs: 1))
        }
        #expect(error?.code == .invalidContent)
    }

    @Test func theDataDirectoryLockAdmitsOneNode() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-lock-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        let directory = DataDirectory(url.path)
        let lock = try directory.lock()
        let error = #expect(throws: PlexusError.self) { try directory.lock() }
        #expect(error?.message.contains("already running") == true)
        lock.release()
        try directory.lock().release()
    }

    /// An in-process handler (`onTask`) serves tasks this node sends itself; a cancel or the
    /// deadline cancels the handler's work.
    @Test func inProcessHandlersAnswerAndAreCancelled() async throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-node-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        var config = NodeConfig(dataDirectory: url.path, listen: nil)
        config.agent.announce = false
        let node = try Node.open(config: config, logger: Logger(label: "test")) { () throws(PlexusError) in nil }
        let running = Task { try await node.run() }
        defer { running.cancel() }

        await node.onTask("double") { context in
            guard case .integer(let number) = context.payload else { throw PlexusError(.invalidArgument, "send a number") }
            await context.progress("doubling")
            return .integer(number * 2)
        }
        let doubled = try await node.sendTask(SendTaskRequest(capability: "double", payload: .integer(21), waitMs: 10_000))
        #expect(doubled.state == .completed)
        #expect(doubled.result == .integer(42))
        #expect(doubled.worker == node.id)
        let refused = try await node.sendTask(SendTaskRequest(capability: "double", payload: .string("x"), waitMs: 10_000))
        #expect(refused.state == .failed)
        #expect(refused.error?.code == "invalidArgument")

        let (cancellations, cancelled) = AsyncStream.makeStream(of: Void.self)
        await node.onTask("forever") { _ in
            do {
                try await Task.sleep(for: .seconds(600))
            } catch {
                cancelled.yield()
                throw error
            }
            return .null
        }
        let endless = try await node.sendTask(SendTaskRequest(capability: "forever", payload: .null))
        #expect(try await node.cancelTask(endless.id).state == .canceled)
        /// The next cancellation the handler saw, or false after 20 s.
        func handlerCancelled() async -> Bool {
            await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    var iterator = cancellations.makeAsyncIterator()
                    return await iterator.next() != nil
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(20))
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
        }
        #expect(await handlerCancelled())
        let late = try await node.sendTask(SendTaskRequest(capability: "forever", payload: .null, timeoutMs: 200, waitMs: 10_000))
        #expect(late.error?.code == "timeout")
        #expect(await handlerCancelled())
    }
}
