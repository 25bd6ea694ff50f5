import Foundation
import PlexusCore

/// What every panel page renders with: the page's own model under `page`, and the frame
/// around it (title, navigation, the session's CSRF token for forms).
struct PanelPage<Model> {
    struct NavLink {
        let href: String
        let label: String
        let current: Bool
    }

    /// The panel's sections, in the navigation's order.
    static var sections: [(path: String, label: String)] {
        [
            ("/ui/", "Overview"), ("/ui/peers", "Peers"), ("/ui/feed", "Feed"), ("/ui/agents", "Agents"),
            ("/ui/tasks", "Tasks"), ("/ui/groups", "Groups"), ("/ui/store", "Store"), ("/ui/metrics", "Metrics"),
        ]
    }

    let title: String
    let nav: [NavLink]
    let csrf: String?
    let signedIn: Bool
    let page: Model

    init(title: String, section: String, session: PanelSessions.Session?, page: Model) {
        self.title = title
        self.nav = Self.sections.map { NavLink(href: $0.path, label: $0.label, current: $0.path == section) }
        self.csrf = session?.csrf
        self.signedIn = session != nil
        self.page = page
    }
}

/// Links to the previous and next page of a list, keeping the other query parameters.
struct Pager {
    let previous: String?
    let next: String?
    let summary: String
    /// Whether there is another page either way (stored: templates see stored values only).
    let any: Bool

    /// Offset paging over a list of `total` items shown `size` at a time.
    init(path: String, query: [String: String], offset: Int, size: Int, total: Int) {
        func link(_ offset: Int) -> String {
            var query = query
            query["offset"] = offset == 0 ? nil : "\(offset)"
            return Self.url(path, query)
        }
        previous = offset > 0 ? link(max(0, offset - size)) : nil
        next = offset + size < total ? link(offset + size) : nil
        summary = total == 0 ? "none" : "\(min(offset + 1, total))–\(min(offset + size, total)) of \(total)"
        any = previous != nil || next != nil
    }

    /// Cursor paging, newest first: the next page starts below `before`.
    init(path: String, query: [String: String], before: Int64?, newest: Bool, shown: Int) {
        var first = query
        first["before"] = nil
        previous = newest ? nil : Self.url(path, first)
        if let before {
            var next = query
            next["before"] = "\(before)"
            self.next = Self.url(path, next)
        } else {
            self.next = nil
        }
        summary = "\(shown) shown"
        any = previous != nil || next != nil
    }

    /// `path?a=b&…` with the values percent-encoded, keys sorted; empty values left out.
    static func url(_ path: String, _ query: [String: String]) -> String {
        let pairs = query.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .panelQueryValue) ?? "")" }
        return pairs.isEmpty ? path : path + "?" + pairs.joined(separator: "&")
    }
}

extension CharacterSet {
    /// Unreserved characters: everything else in a query value is percent-encoded.
    static let panelQueryValue = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
}

/// Display forms of the values pages show.
enum Show {
    /// A time as `2026-12-06 02:10:33Z` (UTC).
    static func time(_ ms: Int64?) -> String {
        guard let ms, ms > 0 else { return "–" }
        let text = Date(timeIntervalSince1970: Double(ms) / 1000).ISO8601Format()
        return text.replacingOccurrences(of: "T", with: " ")
    }

    /// A duration as `3h 12m`, `4m 05s`, `850 ms`.
    static func duration(ms: Int64) -> String {
        if ms < 1000 { return "\(max(0, ms)) ms" }
        let seconds = ms / 1000
        if seconds < 60 { return "\(seconds) s" }
        if seconds < 3600 { return "\(seconds / 60)m \(String(format: "%02d", seconds % 60))s" }
        if seconds < 86400 { return "\(seconds / 3600)h \(String(format: "%02d", seconds % 3600 / 60))m" }
        return "\(seconds / 86400)d \(seconds % 86400 / 3600)h"
    }

    /// A byte count as `1.5 MB` (powers of 1000, as disks are sold).
    static func bytes<Count: BinaryInteger>(_ count: Count) -> String {
        let value = Double(count)
        let units = ["B", "kB", "MB", "GB", "TB"]
        var scaled = value
        var unit = 0
        while scaled >= 1000 && unit < units.count - 1 {
            scaled /= 1000
            unit += 1
        }
        return unit == 0 ? "\(Int(value)) B" : String(format: "%.1f %@", scaled, units[unit])
    }

    /// The first characters of a long id, for tables (the whole id is in the title and link).
    static func short(_ id: some CustomStringConvertible) -> String {
        let text = id.description
        return text.count > 14 ? String(text.prefix(12)) + "…" : text
    }

    /// JSON, indented, for an entry's or task's content.
    static func json(_ value: JSONValue?) -> String {
        guard let value else { return "" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// One line for a list: the content's `text` (or `title`, `summary`), else its JSON, cut at `limit`.
    static func preview(_ value: JSONValue?, limit: Int = 160) -> String {
        guard let value else { return "" }
        var text: String
        if let object = value.objectValue, let first = ["text", "title", "summary", "message"].lazy.compactMap({ key -> String? in
            if case .string(let text)? = object[key] { return text }
            return nil
        }).first {
            text = first
        } else if case .string(let string) = value {
            text = string
        } else {
            text = String(decoding: value.canonicalData(), as: UTF8.self)
        }
        text = text.replacingOccurrences(of: "\n", with: " ")
        return text.count > limit ? String(text.prefix(limit)) + "…" : text
    }
}

/// A row of an entry list (feed, search, thread).
struct EntryRow {
    let id: String
    let shortID: String
    let author: String
    let shortAuthor: String
    let mine: Bool
    let topic: String
    /// The feed filtered to this entry's author, and to its topic.
    let authorLink: String
    let topicLink: String
    let type: String
    let time: String
    let cursor: String
    let preview: String
    let rank: String?

    init(_ entry: EntryView, me: AgentID, rank: Double? = nil) {
        id = entry.id.description
        shortID = Show.short(entry.id)
        author = entry.author.description
        shortAuthor = Show.short(entry.author)
        mine = entry.author == me
        topic = entry.topic
        authorLink = Pager.url("/ui/feed", ["author": entry.author.description])
        topicLink = Pager.url("/ui/feed", ["topic": entry.topic])
        type = entry.type
        time = Show.time(entry.timeMs)
        cursor = "\(entry.cursor)"
        preview = entry.content == nil && entry.contentBase64 != nil ? "(binary content)" : Show.preview(entry.content)
        self.rank = rank.map { String(format: "%.2f", $0) }
    }
}

/// A small bar chart of counts per time bucket, drawn as SVG by the template (numbers only).
struct Sparkline {
    struct Bar {
        let x: Int
        let y: Int
        let height: Int
        let label: String
    }

    static let buckets = 30
    static let bucketMs: Int64 = 60_000
    static let height = 40
    static let barWidth = 8

    let label: String
    let total: Int
    let bars: [Bar]
    /// The counts, comma-separated, for the live script to continue from.
    let counts: String
    let width = Sparkline.buckets * (Sparkline.barWidth + 2)
    let chartHeight = Sparkline.height

    /// Counts of `times` per minute over the last `buckets` minutes before `nowMs`.
    init(label: String, times: [Int64], nowMs: Int64) {
        var counts = [Int](repeating: 0, count: Self.buckets)
        let start = nowMs - Int64(Self.buckets) * Self.bucketMs
        for time in times where time > start && time <= nowMs {
            let index = Int((time - start - 1) / Self.bucketMs)
            if counts.indices.contains(index) { counts[index] += 1 }
        }
        let top = max(1, counts.max() ?? 1)
        self.label = label
        total = counts.reduce(0, +)
        bars = counts.enumerated().map { index, count in
            let height = count == 0 ? 0 : max(2, count * Self.height / top)
            let minutesAgo = Self.buckets - index - 1
            return Bar(
                x: index * (Self.barWidth + 2), y: Self.height - height, height: height,
                label: "\(count) in the minute \(minutesAgo == 0 ? "now" : "\(minutesAgo) min ago")")
        }
        self.counts = counts.map(String.init).joined(separator: ",")
    }
}
