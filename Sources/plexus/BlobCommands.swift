import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore

struct BlobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blob", abstract: "Content-addressed files: put, get (from any peer that has it), pin, unpin, remove.",
        subcommands: [BlobPutCommand.self, BlobGetCommand.self, BlobPinCommand.self, BlobUnpinCommand.self, BlobRemoveCommand.self])
}

struct BlobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "blobs", abstract: "The blobs held here, the store's use, and fetches in progress.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Most blobs listed (1-1000, default 100).")
    var limit: Int?

    @Option(name: .long, help: "Blobs to skip, for paging.")
    var offset: Int?

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let list = try await global.client().blobs(limit: limit, offset: offset)
            if global.json { return Output.printJSON(list) }
            print("\(list.count) blobs, \(list.usedBytes) of \(list.quotaBytes) bytes (at most \(list.maxBlobBytes) per blob)")
            for blob in list.blobs {
                var notes: [String] = []
                if blob.pinned { notes.append("pinned") }
                if blob.references > 0 { notes.append("\(blob.references) entries refer to it") }
                print("\(blob.id)  \(blob.size) bytes  \(Output.timestamp(blob.addedMs))  \(notes.joined(separator: ", "))")
            }
            for fetch in list.fetching {
                print("fetching \(fetch.id)  \(fetch.fetchedBytes) of \(fetch.size.map(String.init) ?? "?") bytes from \(fetch.sources) sources")
            }
        }
    }
}

struct BlobPutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "put", abstract: "Store a file (or stdin) as a blob; prints its id, the SHA-256 of the bytes.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customLong("no-pin"), help: "Do not pin it: it is kept while entries held here reference it, or for blobs.grace after its last use.")
    var noPin = false

    @Option(name: .long, help: "Seal it under this private group's key (id or name): only its members read it.")
    var group: String?

    @Argument(help: "A file, or '-' for stdin.")
    var file: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let client = try await global.client()
            let blob: BlobView
            if file == "-" {
                let spool = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-put-\(UUID().uuidString)")
                defer { try? FileManager.default.removeItem(at: spool) }
                FileManager.default.createFile(atPath: spool.path, contents: nil)
                let handle = try FileHandle(forWritingTo: spool)
                while let piece = try FileHandle.standardInput.read(upToCount: 1 << 20), !piece.isEmpty { try handle.write(contentsOf: piece) }
                try handle.close()
                blob = try await client.putBlob(file: spool, pin: !noPin, group: group)
            } else {
                blob = try await client.putBlob(file: URL(fileURLWithPath: file), pin: !noPin, group: group)
            }
            if global.json { Output.printJSON(blob) } else { print("\(blob.id)  \(blob.size) bytes") }
        }
    }
}

struct BlobGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Write a blob's bytes, fetching it from peers first when it is not held here (resumable, several peers at once).")

    @OptionGroup var global: GlobalOptions

    @Option(name: [.short, .long], help: "Write to this file instead of stdout.")
    var output: String?

    @Option(name: .long, help: "An agent to ask first, e.g. the author of the entry that names the blob (repeatable).")
    var from: [String] = []

    @Option(name: .long, help: "Seconds to wait for the whole blob (default 60).")
    var wait: Int = 60

    @Flag(name: .long, help: "Pin it once fetched.")
    var pin = false

    @Option(name: .long, help: "Open it with this private group's key (a blob put with --group).")
    var group: String?

    @Argument(help: "The blob id (64 hex).")
    var id: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let id = try BlobID.parse(id)
            var hints: [AgentID] = []
            for text in from { hints.append(try AgentID.parse(text)) }
            let client = try await global.client(timeout: .seconds(Int64(wait) + 30))
            let blob = try await client.fetchBlob(id, BlobFetchRequest(from: hints, waitMs: wait * 1000, pin: pin))
            if let output {
                let url = URL(fileURLWithPath: output)
                FileManager.default.createFile(atPath: url.path, contents: nil)
                let handle = try FileHandle(forWritingTo: url)
                defer { try? handle.close() }
                try await client.readBlob(id, group: group) { try handle.write(contentsOf: $0) }
                if global.json { Output.printJSON(blob) } else { print("wrote \(blob.size) bytes to \(output)") }
            } else {
                try await client.readBlob(id, group: group) { FileHandle.standardOutput.write($0) }
            }
        }
    }
}

struct BlobPinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pin", abstract: "Keep a blob held here whatever references it.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The blob id.")
    var id: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let blob = try await global.client().pinBlob(try BlobID.parse(id), pinned: true)
            if global.json { Output.printJSON(blob) } else { print("pinned \(blob.id)") }
        }
    }
}

struct BlobUnpinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unpin", abstract: "Unpin a blob: it stays while entries held here reference it, or for blobs.grace after its last use.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The blob id.")
    var id: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let blob = try await global.client().pinBlob(try BlobID.parse(id), pinned: false)
            if global.json { Output.printJSON(blob) } else { print("unpinned \(blob.id)") }
        }
    }
}

struct BlobRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a blob held here now.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The blob id.")
    var id: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let blob = try await global.client().removeBlob(try BlobID.parse(id))
            if global.json { Output.printJSON(blob) } else { print("removed \(blob.id) (\(blob.size) bytes)") }
        }
    }
}
