import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOPosix

/// UDP multicast for LAN discovery (PROTOCOL.md §17): one socket bound to the discovery
/// port that has joined the group on every IPv4 interface that can multicast (loopback
/// aside), and one sending socket per such interface, so a beacon leaves on each network
/// the host is on even where there is no multicast route. Datagrams arrive, with the
/// address they came from, on a bounded stream: beyond `bufferSize` waiting, more are
/// dropped (a flood costs memory no more than that).
public final class LANDatagrams: Sendable {
    /// A datagram and its sender.
    public struct Datagram: Sendable {
        /// The bytes, cut after `maxDatagramBytes` when `oversized`.
        public let bytes: Data
        public let source: SocketAddress
        /// Longer than `maxDatagramBytes`: to be counted and not read.
        public let oversized: Bool
    }

    public let group: SocketAddress
    public let port: Int
    private let receiver: any Channel
    private let senders: [any Channel]
    public let datagrams: AsyncStream<Datagram>
    /// The IPv4 addresses of the interfaces datagrams leave on (4 bytes each).
    public let addresses: [[UInt8]]

    /// Opens the sockets; `groupAddress` is an IPv4 multicast address.
    public static func open(
        groupAddress: String, port: Int, maxDatagramBytes: Int, bufferSize: Int = 256,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> LANDatagrams {
        let group = try SocketAddress(ipAddress: groupAddress, port: port)
        let devices = try System.enumerateDevices().filter { device in
            guard case .v4(let address)? = device.address, device.multicastSupported else { return false }
            return !address.host.hasPrefix("127.")
        }
        let (stream, continuation) = AsyncStream<Datagram>.makeStream(bufferingPolicy: .bufferingNewest(bufferSize))
        let receiver = try await DatagramBootstrap(group: eventLoopGroup)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            // Other mDNS stacks on the host (avahi, zeroconf) share port 5353.
            .channelOption(ChannelOptions.socketOption(NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: maxDatagramBytes + 1))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Receiver(continuation: continuation, maxBytes: maxDatagramBytes))
                }
            }
            .bind(host: "0.0.0.0", port: port).get()
        guard let multicast = receiver as? MulticastChannel else {
            try? await receiver.close()
            throw MeshError.dialFailed("the discovery socket cannot join multicast groups")
        }
        var senders: [any Channel] = []
        var addresses: [[UInt8]] = []
        for device in devices {
            try await multicast.joinGroup(group, device: device).get()
            guard case .v4(let address)? = device.address else { continue }
            let sender = try await DatagramBootstrap(group: eventLoopGroup).bind(host: address.host, port: 0).get()
            if let options = sender as? SocketOptionProvider {
                _ = try await options.setIPMulticastIF(address.address.sin_addr).get()
                _ = try await options.setIPMulticastLoop(0).get()
            }
            senders.append(sender)
            addresses.append(withUnsafeBytes(of: address.address.sin_addr.s_addr) { Array($0) })
        }
        return LANDatagrams(group: group, port: port, receiver: receiver, senders: senders, datagrams: stream, addresses: addresses)
    }

    private init(
        group: SocketAddress, port: Int, receiver: any Channel, senders: [any Channel], datagrams: AsyncStream<Datagram>, addresses: [[UInt8]]
    ) {
        self.addresses = addresses
        self.group = group
        self.port = port
        self.receiver = receiver
        self.senders = senders
        self.datagrams = datagrams
    }

    /// How many interfaces beacons leave on.
    public var interfaces: Int { senders.count }

    /// Sends `bytes` to the group on every interface.
    public func send(_ bytes: Data) async {
        for sender in senders {
            let envelope = AddressedEnvelope(remoteAddress: group, data: ByteBuffer(bytes: bytes))
            try? await sender.writeAndFlush(envelope).get()
        }
    }

    public func close() async {
        for channel in senders + [receiver] { try? await channel.close() }
    }

    /// Hands datagrams to the stream; a longer one than `maxBytes` is dropped here.
    private final class Receiver: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let continuation: AsyncStream<Datagram>.Continuation
        let maxBytes: Int

        init(continuation: AsyncStream<Datagram>.Continuation, maxBytes: Int) {
            self.continuation = continuation
            self.maxBytes = maxBytes
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = Self.unwrapInboundIn(data)
            let oversized = envelope.data.readableBytes > maxBytes
            continuation.yield(Datagram(
                bytes: oversized ? Data() : Data(buffer: envelope.data), source: envelope.remoteAddress, oversized: oversized))
        }

        func channelInactive(context: ChannelHandlerContext) {
            continuation.finish()
        }
    }
}
