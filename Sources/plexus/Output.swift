#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PlexusCore

/// How the CLI prints: human text by default, JSON with `--json`.
enum Output {
    static func printJSON(_ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // CLI values are plain Codable structs of strings and numbers.
        let data = (try? encoder.encode(value)) ?? Data("null".utf8)
        print(String(decoding: data, as: UTF8.self))
    }

    /// One value as compact JSON on one line (for streams of values).
    static func jsonLine(_ value: some Encodable) -> String {
        String(decoding: (try? JSONEncoder.compact.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data("plexus: \(message)\n".utf8))
    }

    /// Two lines per entry: a header and the compact content.
    static func describe(_ entry: EntryView) -> String {
        var header = "\(entry.id.hex.prefix(12))  \(entry.type)  \(entry.author.short) #\(entry.seq)  \(timestamp(entry.timeMs))"
        if !entry.topic.isEmpty { header += "  [\(entry.topic)]" }
        if !entry.tags.isEmpty { header += "  " + entry.tags.map { "#\($0)" }.joined(separator: " ") }
        if !entry.linked { header += "  (unlinked)" }
        if let by = entry.retractedBy { header += "  (retracted by \(by.hex.prefix(12)))" }
        if let by = entry.supersededBy { header += "  (superseded by \(by.hex.prefix(12)))" }
        let body: String
        if let content = entry.content {
            body = String(decoding: content.canonicalData(), as: UTF8.self)
        } else {
            body = "<\(entry.contentBase64?.count ?? 0) bytes of non-JSON content>"
        }
        return header + "\n  " + body
    }

    static func printEntries(_ entries: [EntryView]) {
        if entries.isEmpty {
            print("(no entries)")
        }
        for entry in entries { print(describe(entry)) }
    }

    static func timestamp(_ ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}

/// Reading a passphrase: `PLEXUS_PASSPHRASE`, else a prompt on the terminal with echo off.
enum Passphrase {
    static func obtain(confirm: Bool = false) throws(PlexusError) -> String {
        if let value = ProcessInfo.processInfo.environment["PLEXUS_PASSPHRASE"] {
            guard !value.isEmpty else { throw PlexusError(.wrongPassphrase, "PLEXUS_PASSPHRASE is empty") }
            return value
        }
        guard isatty(STDIN_FILENO) != 0 else {
            throw PlexusError(.wrongPassphrase, "the identity key is encrypted: set PLEXUS_PASSPHRASE (no terminal to ask on)")
        }
        let first = try prompt("Passphrase: ")
        guard !first.isEmpty else { throw PlexusError(.wrongPassphrase, "empty passphrase") }
        if confirm {
            guard try prompt("Repeat passphrase: ") == first else {
                throw PlexusError(.wrongPassphrase, "the passphrases do not match")
            }
        }
        return first
    }

    private static func prompt(_ text: String) throws(PlexusError) -> String {
        FileHandle.standardError.write(Data(text.utf8))
        var saved = termios()
        tcgetattr(STDIN_FILENO, &saved)
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true) else {
            throw PlexusError(.wrongPassphrase, "no passphrase given")
        }
        return line
    }
}
