#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import PlexusCore

/// The files of one node's data directory (default `~/.plexus`): identity key, API token,
/// database, configuration and the address files a running node writes. Secrets are
/// written mode 0600 and replaced atomically.
public struct DataDirectory: Sendable {
    public let root: URL

    public init(_ path: String) {
        self.root = URL(fileURLWithPath: (path as NSString).expandingTildeInPath, isDirectory: true)
    }

    /// `--data`, else `$PLEXUS_HOME`, else `~/.plexus`.
    public static func resolve(flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> DataDirectory {
        if let flag, !flag.isEmpty { return DataDirectory(flag) }
        if let home = environment["PLEXUS_HOME"], !home.isEmpty { return DataDirectory(home) }
        return DataDirectory("~/.plexus")
    }

    public var path: String { root.path }
    public var identityFile: URL { root.appendingPathComponent("identity.json") }
    public var tokenFile: URL { root.appendingPathComponent("api.token") }
    public var databaseFile: URL { root.appendingPathComponent("plexus.db") }
    public var configFile: URL { root.appendingPathComponent("config.yaml") }
    /// Written by a running node: the HTTP API's bound `host:port`.
    public var apiAddressFile: URL { root.appendingPathComponent("api.addr") }
    /// The A2A gateway's bound address, while it runs.
    public var a2aAddressFile: URL { root.appendingPathComponent("a2a.addr") }
    /// Written by a running node: the mesh listener's bound `host:port`.
    public var meshAddressFile: URL { root.appendingPathComponent("mesh.addr") }

    public var hasIdentity: Bool { FileManager.default.fileExists(atPath: identityFile.path) }

    /// Creates the directory (mode 0700) if missing.
    public func create() throws(PlexusError) {
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw PlexusError(.invalidConfig, "cannot create data directory \(path): \(error.localizedDescription)")
        }
    }

    /// Creates a new identity and API token. Refuses to replace an existing identity
    /// unless `force`. With a passphrase, the key is sealed with scrypt + ChaChaPoly.
    @discardableResult
    public func initialize(passphrase: String?, force: Bool) throws(PlexusError) -> AgentID {
        try create()
        if hasIdentity && !force {
            throw PlexusError(.identityExists, "an identity already exists in \(path); use --force to replace it (the old identity is lost)")
        }
        let key = AgentKey()
        let sealed = if let passphrase { try SealedKey(sealing: key, passphrase: passphrase) } else { SealedKey(plain: key) }
        try writeSecret(sealed.json(), to: identityFile)
        if force || !FileManager.default.fileExists(atPath: tokenFile.path) {
            try writeSecret(Data(Self.newToken().utf8), to: tokenFile)
        }
        return key.id
    }

    /// The identity key file as stored (public part readable without a passphrase).
    public func sealedKey() throws(PlexusError) -> SealedKey {
        guard hasIdentity else {
            throw PlexusError(.noIdentity, "no identity in \(path): run 'plexus init' first")
        }
        tightenPermissions(of: identityFile)
        return try SealedKey(json: try read(identityFile))
    }

    /// The API token, creating one if the directory has none yet.
    public func apiToken() throws(PlexusError) -> String {
        try token(in: tokenFile, for: "API")
    }

    /// The A2A gateway's bearer token when none is configured (`a2a.token`, made on first use).
    public func a2aToken() throws(PlexusError) -> String {
        try token(in: root.appendingPathComponent("a2a.token"), for: "A2A")
    }

    /// The token in `file` (0600), made when missing.
    private func token(in file: URL, for what: String) throws(PlexusError) -> String {
        if !FileManager.default.fileExists(atPath: file.path) {
            try create()
            try writeSecret(Data(Self.newToken().utf8), to: file)
        }
        tightenPermissions(of: file)
        let token = String(decoding: try read(file), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.count >= 32 else {
            throw PlexusError(.invalidConfig, "\(what) token in \(file.path) is too short; delete it to have a new one made")
        }
        return token
    }

    /// Records the bound API address for clients.
    public func writeAPIAddress(_ address: String) throws(PlexusError) {
        try writeSecret(Data((address + "\n").utf8), to: apiAddressFile, mode: 0o644, durable: false)
    }

    /// Records the A2A gateway's bound address.
    public func writeA2AAddress(_ address: String) throws(PlexusError) {
        try writeSecret(Data((address + "\n").utf8), to: a2aAddressFile, mode: 0o644, durable: false)
    }

    /// Records the bound mesh address for tools and other nodes' configuration.
    public func writeMeshAddress(_ address: String) throws(PlexusError) {
        try writeSecret(Data((address + "\n").utf8), to: meshAddressFile, mode: 0o644, durable: false)
    }

    /// Removes the address files when the node stops.
    public func removeAddressFiles() {
        try? FileManager.default.removeItem(at: apiAddressFile)
        try? FileManager.default.removeItem(at: a2aAddressFile)
        try? FileManager.default.removeItem(at: meshAddressFile)
    }

    /// 32 random bytes as hex.
    static func newToken() -> String {
        Hex.encode((0..<32).map { _ in UInt8.random(in: .min ... .max) })
    }

    private func read(_ url: URL) throws(PlexusError) -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw PlexusError(.keyFileCorrupt, "cannot read \(url.path): \(error.localizedDescription)")
        }
    }

    /// Writes `data` to a temporary file created with `mode`, syncs it, and renames it over
    /// `url`, so readers never see a partial file and the mode is right from the start.
    /// Address files are not `durable`: they describe a running process (a crash leaves them
    /// stale anyway), and a sync each would sit on the node's start path.
    func writeSecret(_ data: Data, to url: URL, mode: mode_t = 0o600, durable: Bool = true) throws(PlexusError) {
        let temporary = url.path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw PlexusError(.invalidConfig, "cannot write \(url.path): \(String(cString: strerror(errno)))")
        }
        let written = data.withUnsafeBytes { buffer in write(fd, buffer.baseAddress, buffer.count) }
        let synced = !durable || fsync(fd) == 0
        close(fd)
        guard written == data.count, synced, rename(temporary, url.path) == 0 else {
            unlink(temporary)
            throw PlexusError(.invalidConfig, "cannot write \(url.path): \(String(cString: strerror(errno)))")
        }
    }

    /// A secret readable by others is made 0600 again.
    private func tightenPermissions(of url: URL) {
        var info = stat()
        guard stat(url.path, &info) == 0 else { return }
        if info.st_mode & 0o077 != 0 {
            chmod(url.path, 0o600)
        }
    }
}

extension DataDirectory {
    /// Takes the directory's exclusive lock (`DIR/lock`) for the life of the process, so two
    /// nodes never share one identity and store (that would fork the agent's own feed).
    /// The lock is released by the kernel when the process exits, even on a crash.
    public func lock() throws(PlexusError) -> DataDirectoryLock {
        try create()
        let path = root.appendingPathComponent("lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw PlexusError(.invalidConfig, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw PlexusError(.invalidConfig, "another plexus node is already running with the data directory \(self.path)")
        }
        return DataDirectoryLock(fd: fd)
    }
}

/// A held data-directory lock; `release()` gives it up early.
public final class DataDirectoryLock: Sendable {
    private let fd: Int32

    init(fd: Int32) { self.fd = fd }

    /// Releases the lock.
    public func release() { close(fd) }
}
