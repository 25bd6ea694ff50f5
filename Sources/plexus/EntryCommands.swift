import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore
import PlexusNode

struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish", abstract: "Sign and publish an entry. Content is a JSON object, or '-' to read it from stdin.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Entry type (default insight).")
    var type: String?

    @Option(name: .long, help: "Topic to publish into.")
    var topic: String?

    @Option(name: .long, help: "Seal the entry into this private group (id or name) instead.")
    var group: String?

    @Option(name: .long, help: "A tag (repeatable).")
    var tag: [String] = []

    @Option(name: .long, help: "Id of an entry this one answers or follows (repeatable).")
    var ref: [String] = []

    @Option(name: .long, help: "With --group: id of an earlier entry of yours there that this one replaces (repeatable).")
    var supersedes: [String] = []

    @Option(name: .long, help: "Expire after this many seconds.")
    var ttl: UInt64?

    @Option(name: .customLong("expires-at"), help: "Expire at this ISO 8601 / RFC 3339 date-time, e.g. 2026-12-31T23:59:59Z.")
    var expiresAt: String?

    @Argument(help: "JSON object, e.g. '{\"text\": \"hello\"}', or '-' for stdin.")
    var content: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let text: String
            if content == "-" {
                let data = FileHandle.standardInput.readDataToEndOfFile()
                text = String(decoding: data, as: UTF8.self)
            } else {
                text = content
            }
            let json = try JSONValue(parsing: Data(text.utf8))
            var refs: [EntryID] = []
            for item in ref { refs.append(try EntryID.parse(item)) }
            var replaced: [EntryID] = []
            for item in supersedes { replaced.append(try EntryID.parse(item)) }
            let request = PublishRequest(
                type: type, topic: topic, tags: tag.isEmpty ? nil : tag, refs: refs.isEmpty ? nil : refs,
                supersedes: replaced.isEmpty ? nil : replaced, content: json, expiresAt: expiresAt, ttlSeconds: ttl)
            let client = try await global.client()
            let entry = if let group { try await client.publish(group: group, request) } else { try await client.publish(request) }
            if global.json { Output.printJSON(entry) } else { print("published \(entry.id) (seq \(entry.seq))") }
        }
    }
}

/// `plexus publish-many`: bulk publishing from JSON lines, in batches that are each stored
/// whole or not at all (`POST /v1/publish/batch`).
struct PublishManyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish-many",
        abstract: "Publish many entries from JSON lines (a file or '-' for stdin): one publish request per line, e.g. {\"content\": {\"text\": \"...\"}, \"topic\": \"notes\"}.",
        discussion: """
            Entries are sent in batches of --batch-size; each batch is stored whole or not at all. \
            On an error nothing more is sent, and what was published before it stays. Blank lines are skipped.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("batch-size"), help: "Entries per request (1-\(PublishBatchRequest.maxEntries)).")
    var batchSize = PublishBatchRequest.maxEntries

    @Argument(help: "A file of JSON lines, or '-' for stdin.")
    var file: String

    func validate() throws {
        guard (1...PublishBatchRequest.maxEntries).contains(batchSize) else {
            throw ValidationError("--batch-size must be 1 to \(PublishBatchRequest.maxEntries)")
        }
    }

    /// A refused batch's message in lines of the input: the node names the entry by its
    /// index in the batch (`entries[3]: ...`).
    static func describe(_ message: String, chunk: [(line: Int, request: PublishRequest)], publishedBefore: Int) -> String {
        let kept = "\(publishedBefore) entries before it were published"
        if message.hasPrefix("entries["), let close = message.firstIndex(of: "]"),
           let index = Int(message[message.index(message.startIndex, offsetBy: 8)..<close]), chunk.indices.contains(index) {
            let rest = message[message.index(after: close)...].drop { $0 == ":" || $0 == " " }
            return "line \(chunk[index].line): \(rest) (its batch was not published; \(kept))"
        }
        return "lines \(chunk.first?.line ?? 0)-\(chunk.last?.line ?? 0) not published (\(kept)): \(message)"
    }

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let data = try CommandInput.read(file)
            // Every line is read before anything is sent, so a typo on the last line publishes nothing.
            var requests: [(line: Int, request: PublishRequest)] = []
            for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
                guard line.contains(where: { ![UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r")].contains($0) }) else { continue }
                do {
                    requests.append((index + 1, try PublishRequest(json: try JSONValue(parsing: Data(line)))))
                } catch let error as PlexusError {
                    throw PlexusError(error.code, "line \(index + 1): \(error.message)")
                }
            }
            guard !requests.isEmpty else { throw PlexusError(.invalidArgument, "no entries: every line is blank") }
            let client = try await global.client()
            var published: [EntryView] = []
            for start in stride(from: 0, to: requests.count, by: batchSize) {
                let chunk = requests[start..<min(start + batchSize, requests.count)]
                do {
                    published += try await client.publish(batch: PublishBatchRequest(entries: chunk.map(\.request)))
                } catch let error as PlexusError {
                    throw PlexusError(error.code, Self.describe(error.message, chunk: Array(chunk), publishedBefore: published.count))
                }
            }
            if global.json {
                Output.printJSON(published)
            } else {
                print("published \(published.count) entries (seq \(published.first?.seq ?? 0)-\(published.last?.seq ?? 0))")
            }
        }
    }
}

/// Filters shared by `feed` and `search`.
struct EntryFilters: ParsableArguments {
    @Option(name: .long, help: "Only this author's entries (agent id).")
    var author: String?

    @Option(name: .long, help: "Only this topic.")
    var topic: String?

    @Option(name: .long, help: "Only this private group's entries, opened (id or name).")
    var group: String?

    @Option(name: .long, help: "Only this entry type.")
    var type: String?

    @Option(name: .long, help: "Only entries with this tag.")
    var tag: String?

    @Option(name: .customLong("since-time"), help: "With --group: only entries signed since TIME (30m, 2h, 7d, an RFC 3339 date-time, or ms since the epoch).")
    var sinceTime: String?

    @Flag(name: .customLong("include-hidden"), help: "With --group: also retracted, superseded and expired entries.")
    var includeHidden = false

    /// The group-only options, refused without `--group`.
    func groupWindow() throws(PlexusError) -> (sinceMs: Int64?, includeHidden: Bool) {
        guard group != nil else {
            guard sinceTime == nil, !includeHidden else {
                throw PlexusError(.invalidArgument, "--since-time and --include-hidden apply with --group")
            }
            return (nil, false)
        }
        return (try sinceTime.map { text throws(PlexusError) in try TimeArgument.milliseconds(text) }, includeHidden)
    }
}

/// `--limit`, for the commands that return a page.
struct PageSize: ParsableArguments {
    @Option(name: .long, help: "How many entries at most.")
    var limit: Int?
}

struct FeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feed",
        abstract: "List entries, newest first; with --since, what arrived after a cursor, oldest first.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var filters: EntryFilters
    @OptionGroup var page: PageSize

    @Option(name: .long, help: "Only entries that reference this entry id.")
    var ref: String?

    @Option(name: .long, help: "Cursor: entries received after it (oldest first).")
    var since: Int64?

    @Option(name: .long, help: "Cursor: entries received before it (newest first).")
    var before: Int64?

    @Flag(name: .long, help: "Keep running and print entries as they arrive (after --since, else from now); --json prints one entry per line.")
    var follow = false

    func run() async throws {
        if follow {
            try await reportingErrors(json: global.json) { try await followFeed() }
            return
        }
        try await reportingErrors(json: global.json) {
            let page = try await read(since: since, before: before, limit: page.limit, waitMs: nil)
            if global.json {
                Output.printJSON(page)
                return
            }
            Output.printEntries(page.entries)
            if let next = page.nextCursor, page.hasMore || since != nil {
                print("-- next cursor: \(next) (use --\(since != nil ? "since" : "before") \(next))")
            }
        }
    }

    /// One page of the feed, or with `--group` of the group's opened entries.
    private func read(
        since: Int64?, before: Int64?, limit: Int?, waitMs: Int?, client given: NodeClient? = nil
    ) async throws(PlexusError) -> EntryPage {
        let client = if let given { given } else { try await global.client() }
        let window = try filters.groupWindow()
        guard let group = filters.group else {
            return try await client.feed(
                author: filters.author, topic: filters.topic, type: filters.type, tag: filters.tag, ref: ref,
                since: since, before: before, limit: limit, waitMs: waitMs)
        }
        guard filters.topic == nil else { throw PlexusError(.invalidArgument, "give --group or --topic, not both") }
        let feed = FeedRequest(
            author: try filters.author.map { text throws(PlexusError) in try AgentID.parse(text) }, type: filters.type,
            tag: filters.tag, ref: try ref.map { text throws(PlexusError) in try EntryID.parse(text) },
            since: since, before: before, limit: limit, waitMs: waitMs)
        return try await client.groupFeed(group: group, GroupFeedRequest(feed, sinceMs: window.sinceMs, includeHidden: window.includeHidden))
    }

    /// Long-polls the feed until interrupted.
    private func followFeed() async throws(PlexusError) {
        let client = try await global.client()
        var cursor: Int64 = if let since { since } else { try await client.status().store.latestCursor }
        while true {
            let page = try await read(since: cursor, before: nil, limit: 1000, waitMs: 30_000, client: client)
            for entry in page.entries {
                print(global.json ? Output.jsonLine(entry) : Output.describe(entry))
            }
            fflush(nil)
            cursor = page.nextCursor ?? cursor
        }
    }
}

struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Full-text search over entries, best match first.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var filters: EntryFilters
    @OptionGroup var page: PageSize

    @Argument(help: "Words to find; all must match. 'word*' matches a prefix; 'a OR b' either.")
    var query: [String]

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let window = try filters.groupWindow()
            if let group = filters.group {
                guard filters.author == nil, filters.topic == nil, filters.type == nil, filters.tag == nil else {
                    throw PlexusError(.invalidArgument, "with --group, search takes no --author, --topic, --type or --tag")
                }
                let results = try await global.client().groupSearch(group: group, GroupSearchRequest(
                    query.joined(separator: " "), limit: page.limit, sinceMs: window.sinceMs, includeHidden: window.includeHidden))
                if global.json { Output.printJSON(results) } else { Output.printEntries(results.hits.map(\.entry)) }
                return
            }
            let results = try await global.client().search(
                query.joined(separator: " "), author: filters.author, topic: filters.topic, type: filters.type,
                tag: filters.tag, limit: page.limit)
            if global.json {
                Output.printJSON(results)
            } else {
                Output.printEntries(results.hits.map(\.entry))
            }
        }
    }
}

struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Show one entry by id.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Entry id (64 hex characters).")
    var id: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let entry = try await global.client().entry(try EntryID.parse(id))
            if global.json { Output.printJSON(entry) } else { Output.printEntries([entry]) }
        }
    }
}

struct ThreadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thread", abstract: "Show an entry and everything that references it, in receive order.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Root entry id (64 hex characters).")
    var id: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let page = try await global.client().thread(try EntryID.parse(id))
            if global.json { Output.printJSON(page) } else { Output.printEntries(page.entries) }
        }
    }
}

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Store an entry signed elsewhere: a file (or '-' for stdin) holding protobuf Entry bytes or their base64.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Path to the entry, or '-' for stdin.")
    var path: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let raw = try CommandInput.read(path)
            let text = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let bytes = Data(base64Encoded: text) ?? raw
            let result = try await global.client().submit(entry: bytes)
            if global.json {
                Output.printJSON(result)
            } else {
                print("\(result.created ? "stored" : "already held") \(result.entry.id) (\(result.entry.author.short) #\(result.entry.seq))")
            }
        }
    }
}

struct ForksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forks", abstract: "List proven forks: authors that signed two incompatible histories.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let forks = try await global.client().forks()
            if global.json {
                Output.printJSON(forks)
                return
            }
            if forks.isEmpty { print("(no forks)") }
            for fork in forks {
                print("\(fork.author) forked at seq \(fork.seq): held \(fork.heldID.hex.prefix(12)), conflicting \(fork.conflictingID.hex.prefix(12))")
            }
        }
    }
}

struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete entries of your own feed: publishes a signed delete request that every node honours (the entry's stub stays).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Ids of your own entries.")
    var ids: [String]

    func run() async throws {
        try await reportingErrors(json: global.json) {
            var parsed: [EntryID] = []
            for id in ids { parsed.append(try EntryID.parse(id)) }
            let result = try await global.client().delete(DeleteEntriesRequest(ids: parsed))
            if global.json {
                Output.printJSON(result)
            } else {
                for id in result.deleted { print("deleted \(id)") }
                if result.deleted.count < parsed.count { print("\(parsed.count - result.deleted.count) already deleted") }
                for id in result.requests { print("delete request \(id)") }
            }
        }
    }
}

/// What a command reads from a file argument, or from stdin for '-'.
enum CommandInput {
    static func read(_ path: String) throws(PlexusError) -> Data {
        if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PlexusError(.invalidArgument, "cannot read \(path): \(error.localizedDescription)")
        }
    }
}
