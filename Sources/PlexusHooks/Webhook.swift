import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import Metrics
import NIOCore
import NIOFoundationCompat
import PlexusCore
import PlexusNode

/// POSTs each arriving entry's (or direct message's) JSON to a URL, one request at a time
/// and in arrival order. A request that fails (no connection, timeout, 5xx, 429) is retried
/// with exponential backoff and jitter up to `attempts` tries; any other answer ends that
/// delivery (2xx delivered, 4xx refused). At most `maxQueued` deliveries wait: when the
/// receiver is down for long, the oldest waiting ones are dropped (and counted), never memory.
actor Webhook {
    /// What is delivered: sent as `X-Plexus-Event`, and names the outcome counter.
    enum Event: String {
        case entry
        case dm

        var counterLabel: String {
            switch self {
            case .entry: "plexus_webhook_entries_total"
            case .dm: "plexus_webhook_messages_total"
            }
        }
    }

    static let maxQueued = 1024
    static let firstBackoff = Duration.milliseconds(500)
    static let maxBackoff = Duration.seconds(30)

    /// How one request ended.
    enum Outcome: Equatable {
        case delivered
        /// The receiver answered with a status that retrying will not change.
        case refused(UInt)
        /// Worth another try.
        case failed(String)
    }

    private let url: String
    private let event: Event
    private let secret: SymmetricKey?
    private let timeout: TimeAmount
    private let attempts: Int
    private let http: HTTPClient
    private let logger: Logger
    /// Deliveries waiting: the id sent as `X-Plexus-Delivery` (an entry's or message's) and the body.
    private var queue: [(id: String, json: Data)] = []
    private var sending = false

    private let outcomes: (delivered: Counter, refused: Counter, failed: Counter, dropped: Counter, retries: Counter)

    init(url: String, event: Event, settings: HookSettings, logger: Logger, http: HTTPClient = .shared) {
        self.url = url
        self.event = event
        self.secret = settings.webhookSecret.map { SymmetricKey(data: Data($0.utf8)) }
        self.timeout = .milliseconds(Int64(settings.webhookTimeoutMs))
        self.attempts = settings.webhookAttempts
        self.http = http
        self.logger = logger
        let label = event.counterLabel
        outcomes = (
            Counter(label: label, dimensions: [("outcome", "delivered")]),
            Counter(label: label, dimensions: [("outcome", "refused")]),
            Counter(label: label, dimensions: [("outcome", "failed")]),
            Counter(label: label, dimensions: [("outcome", "dropped")]),
            Counter(label: "plexus_webhook_retries_total"))
    }

    /// Queues a delivery; `id` says which entry or message it is.
    func offer(id: String, json: Data) {
        if queue.count >= Self.maxQueued {
            let dropped = queue.removeFirst()
            outcomes.dropped.increment()
            logger.warning("webhook queue full: oldest delivery dropped", metadata: ["\(event)": "\(dropped.id)"])
        }
        queue.append((id, json))
        guard !sending else { return }
        sending = true
        Task { await drain() }
    }

    private func drain() async {
        defer { sending = false }
        while !queue.isEmpty, !Task.isCancelled {
            let (id, json) = queue.removeFirst()
            await deliver(id: id, json: json)
        }
    }

    private func deliver(id: String, json: Data) async {
        var backoff = Self.firstBackoff
        for attempt in 1...attempts {
            let outcome = await post(id: id, json: json)
            switch outcome {
            case .delivered:
                outcomes.delivered.increment()
                return
            case .refused(let status):
                outcomes.refused.increment()
                logger.warning("webhook refused a delivery", metadata: ["\(event)": "\(id)", "status": "\(status)"])
                return
            case .failed(let reason) where attempt == attempts:
                outcomes.failed.increment()
                logger.warning("webhook gave up on a delivery", metadata: ["\(event)": "\(id)", "attempts": "\(attempts)", "error": "\(reason)"])
                return
            case .failed(let reason):
                outcomes.retries.increment()
                logger.debug("webhook attempt failed", metadata: ["\(event)": "\(id)", "attempt": "\(attempt)", "error": "\(reason)"])
                try? await Task.sleep(for: backoff * Double.random(in: 0.5...1.5))
                backoff = min(backoff * 2, Self.maxBackoff)
            }
        }
    }

    private func post(id: String, json: Data) async -> Outcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "plexus/\(PlexusVersion.current)")
        request.headers.add(name: "X-Plexus-Event", value: event.rawValue)
        request.headers.add(name: "X-Plexus-Delivery", value: id)
        if let secret {
            let mac = HMAC<SHA256>.authenticationCode(for: json, using: secret)
            request.headers.add(name: "X-Plexus-Signature-256", value: "sha256=" + Hex.encode(mac))
        }
        request.body = .bytes(ByteBuffer(data: json))
        do {
            let response = try await http.execute(request, timeout: timeout)
            _ = try? await response.body.collect(upTo: 64 * 1024)  // drain, so the connection can be reused
            switch response.status.code {
            case 200..<300: return .delivered
            case 429, 500..<600, 408: return .failed("HTTP \(response.status.code)")
            default: return .refused(response.status.code)
            }
        } catch {
            return .failed("\(error)")
        }
    }
}
