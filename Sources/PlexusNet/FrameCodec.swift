import Foundation
import NIOCore
import NIOFoundationCompat
import PlexusCore
import SwiftProtobuf

/// Application frames after the handshake (DESIGN §5): `uint32 big-endian length ‖
/// protobuf Frame`. A length over `maxFrameBytes` is an error at once, before any of the
/// body is buffered, so a peer cannot make the node hold a large frame.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = Plexus_Frame

    let maxFrameBytes: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard Int(length) <= maxFrameBytes else { throw MeshError.frameTooLarge(Int(length)) }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        // The length was checked against readableBytes just above.
        let body = buffer.readSlice(length: Int(length))!
        do {
            let frame = try Plexus_Frame(serializedBytes: Data(buffer: body))
            context.fireChannelRead(wrapInboundOut(frame))
        } catch {
            throw MeshError.malformedFrame
        }
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Writes frames with their `uint32` length prefix.
struct FrameEncoder: MessageToByteEncoder {
    typealias OutboundIn = Plexus_Frame

    func encode(data: Plexus_Frame, out: inout ByteBuffer) throws {
        let bytes: [UInt8] = try data.serializedBytes()
        out.writeInteger(UInt32(bytes.count))
        out.writeBytes(bytes)
    }
}
