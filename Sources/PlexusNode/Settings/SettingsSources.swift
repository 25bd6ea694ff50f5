import Configuration
import Foundation
import PlexusCore
import Synchronization
import Yams

/// Where a node's settings come from, highest first: command-line flags, `PLEXUS_*`
/// environment variables, the data directory's `config.yaml`, then each section's default.
///
/// Built on apple/swift-configuration: one `ConfigReader` over an in-memory provider (the
/// flags), the environment (every key has a variable: `mesh.idle_timeout_ms` is
/// `PLEXUS_MESH_IDLE_TIMEOUT_MS`, lists are comma-separated) and the YAML file. Each
/// settings section reads its own keys through a reader scoped to its name.
struct SettingsSources {
    /// The reader every section reads from.
    let reader: ConfigReader
    /// Values of `config.yaml` that are neither scalars nor lists of scalars (such as
    /// `agent.labels` and `agent.devices`), keyed by dotted path. swift-configuration's value
    /// model holds neither, so the section that owns one decodes it from here.
    let structured: [String: Yams.Node]
    private let problems: UnreadableSettings

    /// Short environment names documented before every key had one; still read.
    static let environmentAliases = [
        "PLEXUS_HOOK_ON_ENTRY": "PLEXUS_HOOKS_ON_ENTRY",
        "PLEXUS_WEBHOOK": "PLEXUS_HOOKS_WEBHOOK",
        "PLEXUS_WEBHOOK_SECRET": "PLEXUS_HOOKS_WEBHOOK_SECRET",
    ]

    /// Reads `file` (missing or empty: no values) and sets aside the values at
    /// `structuredKeys` (dotted paths).
    init(
        flags: [AbsoluteConfigKey: ConfigValue], environment: [String: String], file: URL, structuredKeys: [String]
    ) throws(PlexusError) {
        var environment = environment
        for (alias, name) in Self.environmentAliases where environment[name] == nil {
            if let value = environment[alias] { environment[name] = value }
        }
        let (fileProvider, structured) = try ConfigFileProvider.load(file, setAside: structuredKeys)
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: flags),
            EnvironmentVariablesProvider(
                environmentVariables: environment.filter { $0.key.hasPrefix("PLEXUS_") },
                secretsSpecifier: .specific(["PLEXUS_HOOKS_WEBHOOK_SECRET", "PLEXUS_A2A_TOKEN"])
            ).prefixKeys(with: "plexus"),
        ]
        if let fileProvider { providers.append(fileProvider) }
        let problems = UnreadableSettings()
        self.reader = ConfigReader(providers: providers, accessReporter: problems)
        self.structured = structured
        self.problems = problems
    }

    /// Throws if any value read so far was present but could not be read as its type (a
    /// number that is not one, say): the reader returns the default for such a value, and a
    /// node must not start on a setting it silently ignored.
    func checkReadable() throws(PlexusError) {
        if let problem = problems.first {
            throw PlexusError(.invalidConfig, problem)
        }
    }
}

/// Collects the reads that found a value they could not use.
private final class UnreadableSettings: AccessReporter {
    private let found = Mutex<[String]>([])

    var first: String? { found.withLock { $0.first } }

    func report(_ event: AccessEvent) {
        // A provider that holds the key but cannot read it as the type fails its lookup; the
        // reader then answers nil or the default and tells only its reporter.
        var problem: String?
        for provider in event.providerResults {
            if case .failure(let error) = provider.result {
                let source = provider.providerName.contains("Environment") ? "the environment" : provider.providerName
                problem = "\(event.metadata.key) from \(source) is not a valid \(event.metadata.valueType): \(error)"
            }
        }
        if problem == nil, let error = event.conversionError {
            problem = "\(event.metadata.key): \(error)"
        }
        guard let problem else { return }
        found.withLock { $0.append(problem) }
    }
}

/// `config.yaml` as a swift-configuration provider: the library's YAML snapshot over the
/// file, minus the values set aside for their sections to decode.
struct ConfigFileProvider: ConfigProvider {
    private let file: YAMLSnapshot

    /// The provider for `url` (nil when it is missing, empty or only comments) and the
    /// values at `setAside`.
    static func load(_ url: URL, setAside paths: [String]) throws(PlexusError) -> (ConfigFileProvider?, [String: Yams.Node]) {
        guard let data = FileManager.default.contents(atPath: url.path) else { return (nil, [:]) }
        do {
            guard var root = try Yams.compose(yaml: String(decoding: data, as: UTF8.self)) else { return (nil, [:]) }
            guard root.mapping != nil else {
                throw PlexusError(.invalidConfig, "\(url.path) is not valid: the top level must be a mapping of settings")
            }
            var setAside: [String: Yams.Node] = [:]
            for path in paths {
                if let value = remove(path.split(separator: ".").map(String.init), from: &root) { setAside[path] = value }
            }
            let rest = Data(try Yams.serialize(node: root).utf8)
            let snapshot = try YAMLSnapshot(
                data: rest.bytes, providerName: "config.yaml",
                parsingOptions: .init(secretsSpecifier: .specific(["hooks.webhook_secret", "a2a.token"])))
            return (ConfigFileProvider(file: snapshot), setAside)
        } catch let error as PlexusError {
            throw error
        } catch {
            throw PlexusError(.invalidConfig, "\(url.path) is not valid: \(error)")
        }
    }

    /// Removes and returns the value at `path` of nested mappings.
    private static func remove(_ path: [String], from node: inout Yams.Node) -> Yams.Node? {
        guard let first = path.first, case .mapping(var mapping) = node, let child = mapping[first] else { return nil }
        if path.count == 1 {
            mapping[first] = nil
            node = .mapping(mapping)
            return child
        }
        var inner = child
        let removed = remove(Array(path.dropFirst()), from: &inner)
        mapping[first] = inner
        node = .mapping(mapping)
        return removed
    }

    var providerName: String { file.providerName }

    func value(forKey key: AbsoluteConfigKey, type: ConfigType) throws -> LookupResult {
        try file.value(forKey: key, type: type)
    }

    func fetchValue(forKey key: AbsoluteConfigKey, type: ConfigType) async throws -> LookupResult {
        try file.value(forKey: key, type: type)
    }

    nonisolated(nonsending) func watchValue<Return: ~Copyable>(
        forKey key: AbsoluteConfigKey, type: ConfigType,
        updatesHandler: nonisolated(nonsending) (_ updates: ConfigUpdatesAsyncSequence<Result<LookupResult, any Error>, Never>) async throws -> Return
    ) async throws -> Return {
        try await watchValueFromValue(forKey: key, type: type, updatesHandler: updatesHandler)
    }

    func snapshot() -> any ConfigSnapshot { file }

    nonisolated(nonsending) func watchSnapshot<Return: ~Copyable>(
        updatesHandler: nonisolated(nonsending) (_ updates: ConfigUpdatesAsyncSequence<any ConfigSnapshot, Never>) async throws -> Return
    ) async throws -> Return {
        try await watchSnapshotFromSnapshot(updatesHandler: updatesHandler)
    }
}
