import Foundation
import Testing

/// The Python SDK's own pytest suite (`clients/python/tests`) and the examples' tests
/// (`examples/tests`), against real `plexus serve` processes of this build:
/// `clients/python/run-tests.sh` installs the SDK from the repository into a virtualenv and
/// runs pytest. Whatever it prints is shown when it fails.
@Suite struct PythonSDKTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func thePythonSDKSuiteAndTheExamplesPass() async throws {
        let directory = try TempDirectory()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.repository.appendingPathComponent("clients/python/run-tests.sh").path]
        process.currentDirectoryURL = Self.repository
        let result = try await runCapturing(
            process, home: directory.path, environment: ["PLEXUS_BINARY": PlexusBinary.url.path], timeout: .seconds(600))
        let summary = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(result.status == 0, "\(result.stdout.suffix(6000))\n\(result.stderr.suffix(3000))")
        #expect(summary.contains(" passed") && !summary.contains("failed") && !summary.contains("error"), "\(summary)")
    }
}
