import Foundation

/// A `host:port` pair; IPv6 hosts are written in brackets (`[::1]:7464`).
public struct HostPort: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[v6]:port` or a bare `port`; `invalidArgument` otherwise (a
    /// setting that does not parse is reported as `invalidConfig` by the settings reader).
    public static func parse(_ text: String, defaultHost: String) throws(PlexusError) -> HostPort {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var host = defaultHost
        var portText = trimmed
        if trimmed.hasPrefix("["), let close = trimmed.firstIndex(of: "]") {
            host = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
            portText = String(trimmed[trimmed.index(after: close)...].dropFirst())
        } else if let colon = trimmed.lastIndex(of: ":") {
            host = String(trimmed[..<colon])
            portText = String(trimmed[trimmed.index(after: colon)...])
        }
        guard let port = Int(portText), (0...65535).contains(port), !host.isEmpty else {
            throw PlexusError(.invalidArgument, "not a host:port address: '\(text.prefix(300))'")
        }
        return HostPort(host: host, port: port)
    }

    public var isLoopback: Bool { Self.isLoopbackHost(host) }

    /// `localhost`, `::1`, or a dotted IPv4 address in 127.0.0.0/8.
    public static func isLoopbackHost(_ host: some StringProtocol) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127"
            && parts.allSatisfy { part in part.count <= 3 && UInt8(part) != nil }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
