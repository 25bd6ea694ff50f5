import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PlexusCore

/// Blobs over HTTP (`BlobService`), and streaming bytes in and out.
extension NodeClient {
    public func blobs(limit: Int? = nil, offset: Int? = nil) async throws(PlexusError) -> BlobList {
        try await send(.GET, "/v1/blobs", query: ["limit": limit.map(String.init), "offset": offset.map(String.init)])
    }

    public func blob(_ id: BlobID) async throws(PlexusError) -> BlobView {
        try await send(.GET, "/v1/blobs/\(id.hex)/info")
    }

    public func fetchBlob(_ id: BlobID, _ request: BlobFetchRequest) async throws(PlexusError) -> BlobView {
        let wait = Int64(request.waitMs ?? BlobFetchRequest.defaultWaitMs)
        return try await send(.POST, "/v1/blobs/\(id.hex)/fetch", body: request, timeout: max(timeout, .milliseconds(wait + 10_000)))
    }

    public func pinBlob(_ id: BlobID, pinned: Bool) async throws(PlexusError) -> BlobView {
        try await send(pinned ? .PUT : .DELETE, "/v1/blobs/\(id.hex)/pin")
    }

    public func removeBlob(_ id: BlobID) async throws(PlexusError) -> BlobView {
        try await send(.DELETE, "/v1/blobs/\(id.hex)")
    }

    /// Stores bytes as a blob (`POST /v1/blobs`).
    public func putBlob(_ data: Data, pin: Bool = true) async throws(PlexusError) -> BlobView {
        try await putBlob(length: UInt64(data.count), pin: pin, body: .bytes(ByteBuffer(data: data)))
    }

    /// Streams a file into a blob (`POST /v1/blobs`), 1 MiB at a time; with `group`, sealed
    /// under that group's key.
    public func putBlob(file: URL, pin: Bool = true, group: String? = nil) async throws(PlexusError) -> BlobView {
        let size: UInt64
        let handle: FileHandle
        do {
            size = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.uint64Value ?? 0
            handle = try FileHandle(forReadingFrom: file)
        } catch {
            throw PlexusError(.invalidArgument, "cannot read \(file.path): \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        let pieces = AsyncStream<ByteBuffer> { continuation in
            while let piece = try? handle.read(upToCount: 1 << 20), !piece.isEmpty {
                continuation.yield(ByteBuffer(data: piece))
            }
            continuation.finish()
        }
        return try await putBlob(length: size, pin: pin, group: group, body: .stream(pieces, length: .known(Int64(size))))
    }

    private func putBlob(length: UInt64, pin: Bool, group: String? = nil, body: HTTPClientRequest.Body) async throws(PlexusError) -> BlobView {
        var query: [String] = pin ? [] : ["pin=false"]
        if let group { query.append("group=" + Self.pathSegment(group)) }
        var request = HTTPClientRequest(url: baseURL + "/v1/blobs" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = body
        let data: Data
        do {
            let response = try await http.execute(request, timeout: .hours(1))
            data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
        } catch {
            throw PlexusError(.nodeNotRunning, "cannot reach the node at \(baseURL): is 'plexus serve' running? (\(error))")
        }
        return try decodeReply(data, path: "/v1/blobs")
    }

    /// Reads a blob held by the node (`GET /v1/blobs/{id}`), whole or a byte range, and
    /// hands its bytes to `sink` as they arrive. Returns how many bytes came.
    @discardableResult
    public func readBlob(
        _ id: BlobID, range: ClosedRange<UInt64>? = nil, group: String? = nil, offer: EntryID? = nil, into sink: (Data) throws -> Void
    ) async throws(PlexusError) -> UInt64 {
        var query: [String] = []
        if let group { query.append("group=" + Self.pathSegment(group)) }
        if let offer { query.append("offer=" + offer.hex) }
        var request = HTTPClientRequest(url: baseURL + "/v1/blobs/\(id.hex)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let range { request.headers.add(name: "Range", value: "bytes=\(range.lowerBound)-\(range.upperBound)") }
        var received: UInt64 = 0
        do {
            let response = try await http.execute(request, timeout: .hours(1))
            guard response.status == .ok || response.status == .partialContent else {
                let data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
                throw Self.failure(from: data, path: "/v1/blobs/\(id.hex)")
            }
            for try await buffer in response.body {
                received += UInt64(buffer.readableBytes)
                try sink(Data(buffer: buffer))
            }
        } catch let error as PlexusError {
            throw error
        } catch {
            throw PlexusError(.nodeNotRunning, "reading blob \(id.hex.prefix(16)) from \(baseURL) failed: \(error)")
        }
        return received
    }

    /// A whole blob held by the node, in memory (`tooLarge` beyond `limit`).
    public func blobBytes(_ id: BlobID, limit: Int) async throws(PlexusError) -> Data {
        let blob = try await blob(id)
        guard blob.size <= UInt64(max(0, limit)) else {
            throw PlexusError(.tooLarge, "blob \(id.hex.prefix(16)) is \(blob.size) bytes, more than \(limit) read at once")
        }
        var data = Data()
        try await readBlob(id) { data.append($0) }
        return data
    }
}
