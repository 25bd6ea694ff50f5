import Foundation
import HTTPTypes
import Hummingbird
import PlexusCore
import PlexusNode

/// Blobs: streaming upload and download (with byte ranges), listing, fetching from peers,
/// pinning and removal.
struct BlobRoutes: APIRouteCollection {
    let service: LocalNodeService
    var node: Node { service.node }

    func register(on router: Router<APIRequestContext>) {
        router.get("/v1/blobs") { request, _ in
            let query = QueryReader(request)
            return EnvelopeResponse.success(try await service.blobs(limit: try query.int("limit"), offset: try query.int("offset")))
        }
        router.post("/v1/blobs") { request, _ in try await upload(request) }
        router.get("/v1/blobs/{id}") { request, context in try await download(request, context: context) }
        router.get("/v1/blobs/{id}/info") { _, context in
            EnvelopeResponse.success(try await service.blob(try BlobID.parse(context.pathParameter("id"))))
        }
        router.post("/v1/blobs/{id}/fetch") { request, context in
            let id = try BlobID.parse(context.pathParameter("id"))
            let body: BlobFetchRequest = try await TaskRoutes.decode(request, limit: 16 * 1024, keys: ["from", "wait_ms", "pin"])
            return EnvelopeResponse.success(try await service.fetchBlob(id, body))
        }
        router.put("/v1/blobs/{id}/pin") { _, context in
            EnvelopeResponse.success(try await service.pinBlob(try BlobID.parse(context.pathParameter("id")), pinned: true))
        }
        router.delete("/v1/blobs/{id}/pin") { _, context in
            EnvelopeResponse.success(try await service.pinBlob(try BlobID.parse(context.pathParameter("id")), pinned: false))
        }
        router.delete("/v1/blobs/{id}") { _, context in
            EnvelopeResponse.success(try await service.removeBlob(try BlobID.parse(context.pathParameter("id"))))
        }
    }

    /// The body, streamed to a file while it is hashed: `Content-Length` is required and
    /// checked against the size limit and the quota before a byte is written.
    private func upload(_ request: Request) async throws -> Response {
        guard let text = request.headers[.contentLength], let length = UInt64(text) else {
            throw PlexusError(.invalidArgument, "a blob upload needs a Content-Length header (the bytes are streamed, not buffered)")
        }
        guard length > 0 else { throw PlexusError(.invalidArgument, "a blob has at least one byte; the body is empty") }
        let query = QueryReader(request)
        let pin = try query.bool("pin") ?? true
        let pieces = request.body.map { buffer in Data(buffer.readableBytesView) }
        let stored = try await node.putBlob(pieces, length: length, pin: pin, group: try Self.nonEmpty("group", in: request))
        return try EnvelopeResponse.success(LocalNodeService.view(stored), status: .created)
    }

    /// The bytes of a blob held here, whole (200) or one byte range (206, `Range: bytes=a-b`,
    /// `a-` or `-n`); a range outside the blob is 416.
    private func download(_ request: Request, context: APIRequestContext) async throws -> Response {
        let id = try BlobID.parse(context.pathParameter("id"))
        let offer = try Self.nonEmpty("offer", in: request).map { text throws(PlexusError) in try EntryID.parse(text) }
        let group = try Self.nonEmpty("group", in: request)
        if group != nil || offer != nil {
            // Opened bytes are served whole: a Range is ignored, as RFC 9110 allows.
            let contents = try await node.blobContents(id, group: group, offer: offer)
            let body = ResponseBody(asyncSequence: contents.map { ByteBuffer(bytes: $0) })
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: body)
        }
        let (blob, file) = try await node.blobForReading(id)
        var headers: HTTPFields = [.contentType: "application/octet-stream", .acceptRanges: "bytes", .eTag: "\"\(id.hex)\""]
        let path = file.path
        if let header = request.headers[.range], !header.isEmpty, let range = try ByteRange.parse(header, size: blob.size) {
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(blob.size)"
            headers[.contentLength] = String(range.count)
            let body = try await FileIO().loadFile(path: path, range: Int(range.lowerBound)...Int(range.upperBound), context: context)
            return Response(status: .partialContent, headers: headers, body: body)
        }
        headers[.contentLength] = String(blob.size)
        let body = try await FileIO().loadFile(path: path, context: context)
        return Response(status: .ok, headers: headers, body: body)
    }
}

extension BlobRoutes {
    /// A query parameter that, when present, must not be empty.
    static func nonEmpty(_ name: String, in request: Request) throws(PlexusError) -> String? {
        guard let value = request.uri.queryParameters.get(name) else { return nil }
        guard !value.isEmpty else { throw PlexusError(.invalidArgument, "'\(name)' must not be empty") }
        return value
    }
}

/// One byte range of a `Range` header (RFC 9110 §14.1.2).
enum ByteRange {
    /// The range asked for within `size` bytes; nil when the header is not a single byte
    /// range (the whole blob is sent then, as RFC 9110 allows); `rangeNotSatisfiable`
    /// when it lies outside the blob.
    static func parse(_ header: String, size: UInt64) throws(PlexusError) -> ClosedRange<UInt64>? {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst("bytes=".count)
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        let unsatisfiable = PlexusError(.rangeNotSatisfiable, "range '\(header.prefix(60))' lies outside the blob's \(size) bytes")
        if first.isEmpty {
            guard let suffix = UInt64(last) else { return nil }
            guard suffix > 0, size > 0 else { throw unsatisfiable }
            return (size - min(suffix, size))...(size - 1)
        }
        guard let start = UInt64(first) else { return nil }
        guard start < size else { throw unsatisfiable }
        if last.isEmpty { return start...(size - 1) }
        guard let end = UInt64(last), end >= start else { return nil }
        return start...min(end, size - 1)
    }
}
