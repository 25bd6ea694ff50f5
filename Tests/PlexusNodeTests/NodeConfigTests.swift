import Foundation
import PlexusCore
import Testing
@testable import PlexusNode

@Suite struct NodeConfigTests {
    func directory(config: String?) throws -> DataDirectory {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-config-\(UUID().uuidString)")
        let directory = DataDirectory(url.path)
        try directory.create()
        if let config { try Data(config.utf8).write(to: directory.configFile) }
        return directory
    }

    @Test func flagsOverrideEnvironmentOverrideFileOverrideDefaults() throws {
        let dir = try directory(config: "api: 127.0.0.1:9001\nmax_body_bytes: 4096\nlog_level: debug\n")
        defer { try? FileManager.default.removeItem(at: dir.root) }

        let defaults = try NodeConfig.resolve(directory: try directory(config: nil), environment: [:])
        #expect(defaults.api == HostPort(host: "127.0.0.1", port: 7464))
        #expect(defaults.limits.maxBodyBytes == 65536)

        let fromFile = try NodeConfig.resolve(directory: dir, environment: [:])
        #expect(fromFile.api.port == 9001)
        #expect(fromFile.limits.maxBodyBytes == 4096)
        #expect(fromFile.logLevel == "debug")

        let fromEnvironment = try NodeConfig.resolve(
            directory: dir, environment: ["PLEXUS_API": "127.0.0.1:9002", "PLEXUS_MAX_BODY_BYTES": "8192"])
        #expect(fromEnvironment.api.port == 9002)
        #expect(fromEnvironment.limits.maxBodyBytes == 8192)
        #expect(fromEnvironment.logLevel == "debug")

        let fromFlags = try NodeConfig.resolve(
            directory: dir, overrides: .init(api: "127.0.0.1:9003", maxBodyBytes: 2048, logLevel: "error"),
            environment: ["PLEXUS_API": "127.0.0.1:9002", "PLEXUS_LOG_LEVEL": "trace"])
        #expect(fromFlags.api.port == 9003)
        #expect(fromFlags.limits.maxBodyBytes == 2048)
        #expect(fromFlags.logLevel == "error")
    }

    @Test func theTemplateIsValidConfiguration() throws {
        let dir = try directory(config: NodeConfig.template)
        defer { try? FileManager.default.removeItem(at: dir.root) }
        let config = try NodeConfig.resolve(directory: dir, environment: [:])
        #expect(config.api.port == NodeConfig.defaultAPIPort)
        #expect(config.expiryIntervalSeconds == 60)
    }

    @Test(arguments: [
        "api: 0.0.0.0:7464\n", "api: 10.0.0.1:7464\n", "api: 127.0.0.1.example.com:80\n", "max_body_bytes: 5\n",
        "log_level: loud\n", "api: [unclosed\n", "expiry_interval_s: 0\n", "- just\n- a list\n",
        "hooks:\n  webhook: ftp://127.0.0.1/x\n", "hooks:\n  webhook: not a url\n", "hooks:\n  webhook_attempts: 0\n",
        "hooks:\n  webhook_timeout_ms: 10\n",
    ])
    func invalidConfigurationIsRefused(text: String) throws {
        let dir = try directory(config: text)
        defer { try? FileManager.default.removeItem(at: dir.root) }
        let error = #expect(throws: PlexusError.self) { try NodeConfig.resolve(directory: dir, environment: [:]) }
        #expect(error?.code == .invalidConfig)
    }

    @Test func hostPortParsesIPv4IPv6AndBarePorts() throws {
        #expect(try HostPort.parse("127.0.0.1:80", defaultHost: "x") == HostPort(host: "127.0.0.1", port: 80))
        #expect(try HostPort.parse("[::1]:0", defaultHost: "x") == HostPort(host: "::1", port: 0))
        #expect(try HostPort.parse("9000", defaultHost: "127.0.0.1") == HostPort(host: "127.0.0.1", port: 9000))
        #expect(HostPort(host: "::1", port: 5).description == "[::1]:5")
        #expect(throws: PlexusError.self) { try HostPort.parse("host:99999", defaultHost: "x") }
    }
}
