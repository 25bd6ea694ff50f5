import Foundation

/// Runs the Python programs in `Tests/interop`: `mesh_peer.py`, the independent Python
/// implementation of the mesh protocol (`noiseprotocol` + `cryptography`), and
/// `mcp_client.py`, the official MCP client SDK; installs their packages from PyPI on first
/// use if they are missing.
enum PythonPeer {
    static let script = interopScript("mesh_peer.py")

    /// A script in `Tests/interop`.
    static func interopScript(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("interop").appendingPathComponent(name)
    }

    /// Makes sure the mesh peer's Python packages are importable.
    static func ensurePackages(home: String) async throws {
        try await ensure(modules: "noise, cryptography", packages: ["noiseprotocol", "cryptography"], home: home)
    }

    /// Makes sure `modules` import, pip-installing `packages` once if not.
    static func ensure(modules: String, packages: [String], home: String) async throws {
        let check = try await run(["-c", "import \(modules)"], home: home, timeout: .seconds(60))
        guard check.status != 0 else { return }
        let install = try await run(["-m", "pip", "install", "--quiet"] + packages, home: home, timeout: .seconds(300))
        guard install.status == 0 else {
            throw TestFailure("cannot install the Python interop packages \(packages): \(install.stderr)")
        }
    }

    /// Runs one mode of the mesh peer script to completion and parses its JSON line.
    static func run(mode: [String], home: String, timeout: Duration = .seconds(60)) async throws -> (status: Int32, json: [String: Any], stderr: String) {
        try await run(script: script, mode, home: home, timeout: timeout)
    }

    /// Runs a script to completion and parses the last line it prints as JSON.
    static func run(script: URL, _ arguments: [String], home: String, timeout: Duration = .seconds(60)) async throws -> (status: Int32, json: [String: Any], stderr: String) {
        let result = try await run([script.path] + arguments, home: home, timeout: timeout)
        let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
        return (result.status, json, result.stderr)
    }

    private static func run(_ arguments: [String], home: String, timeout: Duration) async throws -> CLIResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        return try await runCapturing(process, home: home, timeout: timeout)
    }

    /// Starts the script in `responder` mode; returns the process and the port it listens on.
    static func startResponder(networkKey: String, home: String, mode: String = "responder") async throws -> (Process, Int, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, mode, networkKey]
        process.environment = childEnvironment(home: home)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The first line announces the port; read it with a deadline.
        let line = try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask {
                var data = Data()
                while !data.contains(UInt8(ascii: "\n")) {
                    let chunk = output.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    data.append(chunk)
                }
                return String(decoding: data, as: UTF8.self)
            }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                throw TestFailure("the Python responder did not start")
            }
            let first = try await group.next() ?? ""
            group.cancelAll()
            return first
        }
        let json = (try? JSONSerialization.jsonObject(with: Data(line.split(separator: "\n").first.map(String.init)?.utf8 ?? "".utf8))) as? [String: Any]
        guard let port = json?["listening"] as? Int else {
            kill(process.processIdentifier, SIGKILL)
            throw TestFailure("unexpected responder output: \(line)")
        }
        return (process, port, output)
    }
}
