import Foundation
import Logging
import PlexusCore
import PlexusNode

/// Where `plexus serve` logs (settings `log_format`, `log_file`): standard error, as text
/// lines or JSON lines, and with `log_file` also a file the same lines are appended to.
enum LogOutput {
    /// The logger factory for `config`; opens the log file (0600) if one is configured.
    static func factory(for config: NodeConfig) throws(PlexusError) -> @Sendable (String) -> any LogHandler {
        let json = config.logFormat == "json"
        var file: Int32?
        if let path = config.logFile {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                throw PlexusError(.invalidConfig, "log_file: cannot open \(path) for appending (errno \(errno))")
            }
            file = descriptor
        }
        let descriptor = file
        return { label in
            var handlers: [any LogHandler] = [
                json ? LineLogHandler(label: label, json: true, descriptor: STDERR_FILENO) : StreamLogHandler.standardError(label: label)
            ]
            if let descriptor { handlers.append(LineLogHandler(label: label, json: json, descriptor: descriptor)) }
            return handlers.count == 1 ? handlers[0] : MultiplexLogHandler(handlers)
        }
    }
}

/// Writes each event as one line to a file descriptor with one `write` (appends from
/// several handlers do not interleave within a line): text like the standard error stream,
/// or a JSON object with `time`, `level`, `label`, `message`, `source` and the metadata.
struct LineLogHandler: LogHandler {
    let label: String
    let json: Bool
    let descriptor: Int32
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let (level, message, source) = (event.level, event.message, event.source)
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let time = InternetTime.string(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
        var text: String
        if json {
            var object: [String: JSONValue] = [
                "time": .string(time), "level": .string(level.rawValue), "label": .string(label),
                "message": .string(message.description), "source": .string(source),
            ]
            for (key, value) in merged where object[key] == nil { object[key] = .string(value.description) }
            text = (try? String(decoding: JSONEncoder.compact.encode(JSONValue.object(object)), as: UTF8.self))
                ?? #"{"level":"error","message":"a log event could not be encoded"}"#
        } else {
            let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            text = "\(time) \(level) \(label):\(fields.isEmpty ? "" : " " + fields) [\(source)] \(message)"
        }
        text += "\n"
        Array(text.utf8).withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, base + offset, buffer.count - offset)
                guard written > 0 else { return }  // a log line that cannot be written is dropped
                offset += written
            }
        }
    }
}
