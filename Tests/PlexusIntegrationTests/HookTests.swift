import Foundation
import PlexusClient
import PlexusCore
import Testing

/// Hook commands on real nodes: entries from other agents reach them on stdin, never
/// through a shell; a hanging command is killed and their number bounded.
@Suite(.serialized) struct HookTests {
    static let interop = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("interop")

    static func lines(_ url: URL) -> [String] {
        ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func aHookCommandGetsArrivingEntriesOnStdinAndNoShellSeesThem() async throws {
        let directory = try MeshTests.directory()
        let output = directory.file("hook.jsonl")
        let pwned = directory.file("pwned")
        let script = Self.interop.appendingPathComponent("hook_append.py").path
        let b = try await ServeProcess(directory: directory, arguments: ["--hook-on-entry", "python3 '\(script)' '\(output.path)'"])
        let a = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", b.meshAddress])

        let hostile = "$(touch \(pwned.path)); `touch \(pwned.path)`"
        let entry = try await a.client.publish(PublishRequest(content: .object(["text": .string(hostile)])))
        let own = try await b.client.publish(PublishRequest(content: .object(["text": .string("mine")])))
        try await MeshTests.eventually("the hook wrote a's entry") {
            Self.lines(output).contains { $0.contains(entry.id.hex) }
        }
        // A later entry of a's arriving after b's own shows b's own did not run the hook.
        let later = try await a.client.publish(PublishRequest(content: .object(["text": .string("later")])))
        try await MeshTests.eventually("the hook wrote the later entry") {
            Self.lines(output).contains { $0.contains(later.id.hex) }
        }
        let written = Self.lines(output)
        #expect(!written.contains { $0.contains(own.id.hex) })
        #expect(written.first { $0.contains(entry.id.hex) }?.contains("touch") == true)
        #expect(!FileManager.default.fileExists(atPath: pwned.path))
        for node in [a, b] { _ = try await node.stop() }
    }

    @Test func aHangingHookIsKilledAndBoundedWhileTheNodeServes() async throws {
        let directory = try MeshTests.directory(extra: "hooks:\n  timeout_ms: 300\n  concurrency: 2\n")
        let b = try await ServeProcess(directory: directory, arguments: ["--hook-on-entry", "sleep 60"])
        let a = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", b.meshAddress])
        var ids: [EntryID] = []
        for index in 0..<8 {
            ids.append(try await a.client.publish(PublishRequest(content: .object(["n": .integer(Int64(index))]))).id)
        }
        let pid = b.process.processIdentifier
        var most = 0
        try await MeshTests.eventually("every entry arrived") {
            most = max(most, Self.children(of: pid, named: "sleep"))
            return try await b.client.status().store.entries >= ids.count
        }
        // While hooks hang, at most `concurrency` run; all are gone once the timeouts pass.
        try await MeshTests.eventually("the hanging commands are killed", within: .seconds(20)) {
            let now = Self.children(of: pid, named: "sleep")
            most = max(most, now)
            return now == 0
        }
        #expect(most <= 2)
        #expect(try await b.client.status().store.entries == ids.count)
        for node in [a, b] { _ = try await node.stop() }
    }

    /// Child processes of `pid` whose command name is `name`.
    static func children(of pid: Int32, named name: String) -> Int {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return 0 }
        var count = 0
        for entry in entries where Int32(entry) != nil {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { continue }
            let command = stat[stat.index(after: open)..<close]
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            if command == name, fields.count > 1, Int32(fields[1]) == pid, fields[0] != "Z" { count += 1 }
        }
        return count
    }
}
