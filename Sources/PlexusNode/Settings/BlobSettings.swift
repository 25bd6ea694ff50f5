import Foundation
import Configuration
import PlexusCore

/// The `blobs:` section (DESIGN §14): how large one blob may be, how much the node keeps,
/// how long an unreferenced blob stays, and how fast it serves others.
public struct BlobSettings: Sendable, Equatable {
    /// Largest blob put or fetched here.
    public var maxBlobBytes: UInt64 = 1 << 30
    /// Most bytes of blobs held here (puts and fetches beyond it are refused).
    public var quotaBytes: UInt64 = 20 << 30
    /// Seconds an unpinned blob that no entry held here references is kept after its last use.
    public var graceS: Int64 = 3_600
    /// Bytes per second served to other nodes, 0 for no limit.
    public var serveRateBytes: UInt64 = 0

    public init() {}

    init(reading config: ConfigReader) throws(PlexusError) {
        maxBlobBytes = try Self.size(config, "max_blob_size", default: maxBlobBytes)
        quotaBytes = try Self.size(config, "quota", default: quotaBytes)
        serveRateBytes = try Self.size(config, "serve_rate", default: serveRateBytes)
        if let grace = config.string(forKey: "grace") {
            do throws(PlexusError) {
                graceS = try RetentionPolicyRequest.seconds(from: grace)
            } catch {
                throw PlexusError(.invalidConfig, "blobs: grace: \(error.message)")
            }
        }
        guard maxBlobBytes >= 1, quotaBytes >= maxBlobBytes else {
            throw PlexusError(.invalidConfig, "blobs: max_blob_size must be at least 1 byte and at most the quota")
        }
    }

    private static func size(_ config: ConfigReader, _ key: ConfigKey, default value: UInt64) throws(PlexusError) -> UInt64 {
        guard let text = config.string(forKey: key) else { return value }
        guard let bytes = ByteSize.parse(text) else {
            throw PlexusError(.invalidConfig, "blobs: \(key) must be a size such as 1048576, 512KiB, 64MiB or 2GiB, not '\(text.prefix(40))'")
        }
        return bytes
    }

    static let template = """
        blobs:
          # Largest blob put here or fetched from others (bytes, or with KiB, MiB, GiB).
          # env: PLEXUS_BLOBS_MAX_BLOB_SIZE
          max_blob_size: 1GiB
          # Most bytes of blobs kept here; puts and fetches beyond it are refused.
          quota: 20GiB
          # How long a blob no entry held here references and nobody pinned stays after
          # its last use (put, fetch, serve) before it is collected: 90, 45s, 30m, 12h, 7d.
          grace: 1h
          # Bytes per second served to other nodes; 0 for no limit.
          serve_rate: 0

        """
}

/// Byte sizes as people write them: `1048576`, `512KiB`, `64MiB`, `2GiB` (K, M, G and KB,
/// MB, GB are binary too).
enum ByteSize {
    static func parse(_ text: String) -> UInt64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isNumber }
        guard let number = UInt64(digits) else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let shift: UInt64
        switch unit {
        case "", "b": shift = 0
        case "k", "kb", "kib": shift = 10
        case "m", "mb", "mib": shift = 20
        case "g", "gb", "gib": shift = 30
        case "t", "tb", "tib": shift = 40
        default: return nil
        }
        let (value, overflow) = number.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? nil : value
    }
}
