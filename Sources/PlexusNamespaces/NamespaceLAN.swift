import Foundation
import Synchronization

/// A LAN of Linux network namespaces that a test or benchmark creates and removes: a bridge
/// in a switch namespace and one namespace per host, linked to it by a veth pair, with
/// addresses 10.77.0.(index + 1)/24. Nothing touches the host's own interfaces; `remove`
/// (also on release) deletes the namespaces, and with them every interface made here.
public final class NamespaceLAN: Sendable {
    public let prefix: String
    /// The namespaces' names, host 0 first.
    public let hosts: [String]
    private let removed = Mutex(false)

    /// Whether this machine lets the tests make namespaces (root and `ip` present).
    public static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") && getuid() == 0
    }

    public init(hosts count: Int) throws {
        let prefix = "px" + String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(6))
        self.prefix = prefix
        hosts = (0..<count).map { "\(prefix)h\($0)" }
        let switchSpace = "\(prefix)sw"
        do {
            try Self.ip(["netns", "add", switchSpace])
            try Self.ip(["netns", "exec", switchSpace, "ip", "link", "add", "br0", "type", "bridge"])
            try Self.ip(["netns", "exec", switchSpace, "ip", "link", "set", "br0", "up"])
            for (index, host) in hosts.enumerated() {
                try Self.ip(["netns", "add", host])
                let near = "\(prefix)s\(index)", far = "\(prefix)e\(index)"
                try Self.ip(["link", "add", near, "netns", switchSpace, "type", "veth", "peer", "name", far, "netns", host])
                try Self.ip(["netns", "exec", switchSpace, "ip", "link", "set", near, "master", "br0"])
                try Self.ip(["netns", "exec", switchSpace, "ip", "link", "set", near, "up"])
                try Self.ip(["netns", "exec", host, "ip", "link", "set", "lo", "up"])
                try Self.ip(["netns", "exec", host, "ip", "addr", "add", "10.77.0.\(index + 1)/24", "dev", far])
                try Self.ip(["netns", "exec", host, "ip", "link", "set", far, "up"])
            }
        } catch {
            remove()
            throw error
        }
    }

    /// The command to run `arguments` inside host `index`'s namespace.
    public func command(_ index: Int, _ arguments: [String]) -> [String] {
        ["netns", "exec", hosts[index]] + arguments
    }

    public func remove() {
        guard !removed.withLock({ removed in defer { removed = true }; return removed }) else { return }
        for space in hosts + ["\(prefix)sw"] { try? Self.ip(["netns", "del", space]) }
    }

    deinit { remove() }

    /// Runs `ip` with `arguments`; a failure is thrown with what it printed.
    public static func ip(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw NamespaceError(description: "ip \(arguments.joined(separator: " ")) failed: \(text)")
        }
    }
}

/// An `ip` command that failed, with what it printed.
public struct NamespaceError: Error, CustomStringConvertible {
    public let description: String
}
