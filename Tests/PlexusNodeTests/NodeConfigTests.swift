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

    @Test func everySectionKeyHasAnEnvironmentVariableAboveTheFile() throws {
        let dir = try directory(config: "mesh:\n  sync_interval_ms: 300\n  frame_rate: 1000\nhooks:\n  concurrency: 2\n")
        defer { try? FileManager.default.removeItem(at: dir.root) }
        let fromFile = try NodeConfig.resolve(directory: dir, environment: [:])
        #expect(fromFile.mesh.syncIntervalMs == 300)
        #expect(fromFile.mesh.frameRate == 1000)
        #expect(fromFile.mesh.idleTimeoutMs == MeshLimits().idleTimeoutMs)
        #expect(fromFile.hooks.concurrency == 2)

        let fromEnvironment = try NodeConfig.resolve(
            directory: dir,
            environment: [
                "PLEXUS_MESH_SYNC_INTERVAL_MS": "250", "PLEXUS_HOOKS_CONCURRENCY": "3", "PLEXUS_AGENT_ANNOUNCE": "false",
                "PLEXUS_PEERS": "127.0.0.1:9100, 127.0.0.1:9101", "MESH_SYNC_INTERVAL_MS": "999",
            ])
        #expect(fromEnvironment.mesh.syncIntervalMs == 250)
        #expect(fromEnvironment.mesh.frameRate == 1000)
        #expect(fromEnvironment.hooks.concurrency == 3)
        #expect(fromEnvironment.agent.announce == false)
        #expect(fromEnvironment.peers == [HostPort(host: "127.0.0.1", port: 9100), HostPort(host: "127.0.0.1", port: 9101)])
    }

    @Test func theShortHookVariablesStillWorkAndTheSystematicOnesWin() throws {
        let dir = try directory(config: nil)
        defer { try? FileManager.default.removeItem(at: dir.root) }
        let short = try NodeConfig.resolve(
            directory: dir,
            environment: ["PLEXUS_WEBHOOK": "http://127.0.0.1:9/a", "PLEXUS_WEBHOOK_SECRET": "s", "PLEXUS_HOOK_ON_ENTRY": "cat"])
        #expect(short.hooks.webhook == "http://127.0.0.1:9/a")
        #expect(short.hooks.webhookSecret == "s")
        #expect(short.hooks.onEntry == "cat")
        let both = try NodeConfig.resolve(
            directory: dir, environment: ["PLEXUS_WEBHOOK": "http://127.0.0.1:9/a", "PLEXUS_HOOKS_WEBHOOK": "http://127.0.0.1:9/b"])
        #expect(both.hooks.webhook == "http://127.0.0.1:9/b")
        let flag = try NodeConfig.resolve(
            directory: dir, overrides: .init(webhook: "http://127.0.0.1:9/c"), environment: ["PLEXUS_HOOKS_WEBHOOK": "http://127.0.0.1:9/b"])
        #expect(flag.hooks.webhook == "http://127.0.0.1:9/c")
    }

    @Test func agentLabelsDevicesAndAddedCapabilitiesAreRead() throws {
        let dir = try directory(config: """
            agent:
              skills: [summarize]
              labels: {region: eu, tier: gold}
              devices:
                - {type: gpu, model: "RTX 4090", properties: {vram_gb: 24}}
              announce_interval_s: 60
            """)
        defer { try? FileManager.default.removeItem(at: dir.root) }
        let config = try NodeConfig.resolve(
            directory: dir, overrides: .init(capabilities: ["translate"]), environment: ["PLEXUS_CAPABILITIES": "ignored-under-the-flag"])
        #expect(config.agent.skills == ["summarize", "translate"])
        #expect(config.agent.labels == ["region": "eu", "tier": "gold"])
        #expect(config.agent.devices.first?.model == "RTX 4090")
        #expect(config.agent.devices.first?.properties["vram_gb"] == 24)
        #expect(config.agent.announceIntervalS == 60)
        let fromEnvironment = try NodeConfig.resolve(directory: dir, environment: ["PLEXUS_CAPABILITIES": "a, b"])
        #expect(fromEnvironment.agent.skills == ["summarize", "a", "b"])
    }

    @Test(arguments: [
        ("mesh:\n  idle_timeout_ms: soon\n", [:]), ("max_body_bytes: lots\n", [:]), ("hooks:\n  backfill: maybe\n", [:]),
        ("agent:\n  labels: [a, b]\n", [:]), ("", ["PLEXUS_MAX_BODY_BYTES": "big"]),
        ("", ["PLEXUS_MESH_SYNC_INTERVAL_MS": "5s"]), ("", ["PLEXUS_AGENT_RELAY": "perhaps"]),
    ] as [(String, [String: String])])
    func aValueThatIsNotItsTypeIsRefusedNotIgnored(text: String, environment: [String: String]) throws {
        let dir = try directory(config: text)
        defer { try? FileManager.default.removeItem(at: dir.root) }
        let error = #expect(throws: PlexusError.self) { try NodeConfig.resolve(directory: dir, environment: environment) }
        #expect(error?.code == .invalidConfig)
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
