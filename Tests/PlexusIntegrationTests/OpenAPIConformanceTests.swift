import Foundation
import Testing

/// The OpenAPI document says exactly what the API does: schemathesis (PyPI), a
/// property-based API tester, generates requests from the document a real node serves,
/// valid and invalid, with every check on (server errors, status codes, response and SSE
/// schemas, valid data accepted, invalid data refused, stateful sequences), and finds
/// nothing. Settings and what they exclude (routes that dial): `Tests/interop/schemathesis.toml`.
@Suite(.serialized) struct OpenAPIConformanceTests {
    /// Examples per operation and phase; the seed makes a failure reproducible
    /// (`PLEXUS_SCHEMATHESIS_SEED` picks another).
    static let examples = 40
    static let seed = ProcessInfo.processInfo.environment["PLEXUS_SCHEMATHESIS_SEED"] ?? "20261202"

    @Test func schemathesisFindsNoFailureAgainstARealNode() async throws {
        let directory = try TempDirectory()
        try await PythonPeer.ensure(modules: "schemathesis", packages: ["schemathesis>=4,<5"], home: directory.path)
        let node = try await ServeProcess(directory: directory)
        let config = PythonPeer.interopScript("schemathesis.toml")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.currentDirectoryURL = directory.url  // its example database and reports stay here
        process.arguments = [
            "python3", "-m", "schemathesis.cli", "--config-file", config.path, "run", "http://\(node.apiAddress)/openapi.json",
            "--header", "Authorization: Bearer \(node.token)", "--checks", "all", "--max-examples", "\(Self.examples)",
            "--seed", Self.seed, "--no-shrink", "--output-truncate", "false",
        ]
        let run = try await runCapturing(process, home: directory.path, timeout: .seconds(1500))
        let output = run.stdout + run.stderr
        #expect(run.status == 0, "schemathesis found failures:\n\(output.suffix(20_000))")
        // Not vacuous: every operation but the excluded ones was tested, with many cases.
        let tested = output.firstMatch(of: /(\d+) generated, (\d+) passed/).flatMap { Int($0.1) } ?? 0
        #expect(tested >= 1000, "only \(tested) test cases generated:\n\(output.suffix(4000))")
        let operations = try #require(output.firstMatch(of: /Selected: (\d+)\/\d+\s+Tested: (\d+)/), "\(output.suffix(4000))")
        #expect(Int(operations.1) ?? 0 >= 30 && operations.1 == operations.2, "\(output.suffix(4000))")
        // The node came through it serving.
        #expect(try await node.client.health()["status"] == "ok")
        #expect(try await node.stop() == 0)
    }
}
