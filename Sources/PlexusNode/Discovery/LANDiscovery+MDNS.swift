import Foundation
import PlexusCore
import PlexusNet

/// Multicast DNS / DNS-SD (PROTOCOL.md §17): this node advertised as `_plexus._tcp.local.`,
/// and others found by browsing for it and dialled like beaconing agents.
extension LANDiscovery {
    /// The service type advertised and browsed for.
    static let serviceType = "_plexus._tcp.local."
    static let servicesQuery = "_services._dns-sd._udp.local."
    /// Seconds between two browse queries.
    static let browseInterval = Duration.seconds(60)

    private var instanceName: String { "plexus-\(key.id.description.prefix(12)).\(Self.serviceType)" }
    private var hostName: String { "plexus-\(key.id.description.prefix(12)).local." }

    /// Advertises this node as `_plexus._tcp.local.` and browses for others, until cancelled.
    func runMDNS() async {
        let datagrams: LANDatagrams
        do {
            datagrams = try await LANDatagrams.open(groupAddress: "224.0.0.251", port: 5353, maxDatagramBytes: 9000)
        } catch {
            logger.error("mDNS discovery is off: cannot open UDP 5353", metadata: ["error": "\(error)"])
            return
        }
        logger.info("mDNS discovery on", metadata: ["service": "\(instanceName)", "interfaces": "\(datagrams.interfaces)"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Announce twice (RFC 6762 §8.3), then browse now and again every minute.
                if let answer = await self.advertisement(addresses: datagrams.addresses) {
                    await datagrams.send(answer)
                    try? await Task.sleep(for: .seconds(1))
                    await datagrams.send(answer)
                }
                let query = DNSMessage(isResponse: false, questions: [.init(name: Self.serviceType, type: DNSMessage.ptr)]).encoded()
                while !Task.isCancelled {
                    await datagrams.send(query)
                    try? await Task.sleep(for: Self.browseInterval)
                }
            }
            group.addTask {
                for await datagram in datagrams.datagrams { await self.takeDNS(datagram, datagrams: datagrams) }
            }
            await group.next()
            group.cancelAll()
        }
        await datagrams.close()
    }

    /// This node's PTR, SRV, TXT and A records; nil when the mesh does not listen.
    private func advertisement(addresses: [[UInt8]]) -> Data? {
        guard let meshPort else { return nil }
        let ttl: UInt32 = 120
        var message = DNSMessage(isResponse: true)
        message.answers = [.init(name: Self.serviceType, ttl: 4500, data: .ptr(instanceName), unique: false)]
        message.additionals = [
            .init(name: instanceName, ttl: ttl, data: .srv(priority: 0, weight: 0, port: UInt16(meshPort), target: hostName), unique: true),
            .init(name: instanceName, ttl: 4500, data: .txt(["id=\(key.id)", "net=\(Hex.encode(LANBeacon.networkTag(networkKey)))"]), unique: true),
        ] + addresses.map { .init(name: hostName, ttl: ttl, data: .a($0), unique: true) }
        return message.encoded()
    }

    private func takeDNS(_ datagram: LANDatagrams.Datagram, datagrams: LANDatagrams) async {
        guard let host = datagram.source.ipAddress, admits(host, at: .now), !datagram.oversized, let message = DNSMessage.decode(datagram.bytes) else { return }
        if message.isResponse {
            learn(from: message, source: host)
            return
        }
        let asked = message.questions.contains { question in
            let name = question.name.lowercased()
            return name == Self.serviceType || name == Self.servicesQuery || name == instanceName.lowercased() || name == hostName.lowercased()
        }
        guard asked else { return }
        // At most four answers a second, whatever is asked.
        let now = ContinuousClock.now
        if let last = lastAnswer, now - last < .milliseconds(250) { return }
        lastAnswer = now
        if message.questions.contains(where: { $0.name.lowercased() == Self.servicesQuery }) {
            var types = DNSMessage(isResponse: true)
            types.answers = [.init(name: Self.servicesQuery, ttl: 4500, data: .ptr(Self.serviceType), unique: false)]
            await datagrams.send(types.encoded())
        }
        if let answer = advertisement(addresses: datagrams.addresses) { await datagrams.send(answer) }
    }

    /// Another node's advertisement: dialled at the datagram's source and its SRV port
    /// when its TXT names an agent of this network.
    private func learn(from message: DNSMessage, source: String) {
        let records = message.answers + message.additionals
        let instances = records.compactMap { record -> String? in
            guard record.name.lowercased() == Self.serviceType, case .ptr(let instance) = record.data else { return nil }
            return instance.lowercased()
        }
        for instance in Set(instances) {
            var port: Int?
            var fields: [String: String] = [:]
            for record in records where record.name.lowercased() == instance {
                switch record.data {
                case .srv(_, _, let srvPort, _): port = Int(srvPort)
                case .txt(let strings):
                    for string in strings {
                        let parts = string.split(separator: "=", maxSplits: 1)
                        if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
                    }
                default: break
                }
            }
            guard let port, port > 0, let id = fields["id"], let agent = AgentID(id) else { continue }
            guard fields["net"] == Hex.encode(LANBeacon.networkTag(networkKey)) else {
                Self.count("foreign")
                continue
            }
            Self.count(dial(agent, host: source, port: port, via: "mdns"))
        }
    }
}
