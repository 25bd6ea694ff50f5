import Foundation
import PlexusCore

extension ToolCatalog {
    /// Replication: `peers`, `add_peer`, `remove_peer`, `follows`, `follow`, `unfollow`, `topics`, `subscribe`,
    /// `unsubscribe`.
    static let replication: [PlexusTool] = [
        PlexusTool(
            definition: tool(
                "peers", "List peers", "Lists the mesh peers this node is connected to, with their agent ids, addresses and traffic.",
                properties: [:], readOnly: true),
            run: { _, node throws(PlexusError) in try encode(["peers": try await node.peers()]) }),
        PlexusTool(
            definition: tool(
                "add_peer", "Connect to a peer",
                "Connects this node to another node's mesh address (host:port) and keeps reconnecting to it. With 'id', the connection is refused unless that agent answers.",
                properties: ["address": string("The peer's mesh address, host:port."), "id": string("The agent id expected at that address.")],
                required: ["address"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.connect(ConnectRequest(address: try arguments.requiredString("address"), id: try arguments.agentID("id"))))
            }),
        PlexusTool(
            definition: tool(
                "remove_peer", "Disconnect a peer",
                "Disconnects a peer (by agent id or host:port) and stops reconnecting to it.",
                properties: ["peer": string("The peer's agent id or mesh address.")], required: ["peer"], readOnly: false),
            run: { arguments, node throws(PlexusError) in try encode(try await node.removePeer(try arguments.requiredString("peer"))) }),
        PlexusTool(
            definition: tool(
                "follows", "List followed authors",
                "Lists the authors this node follows. Empty: it stores every author's entries.",
                properties: [:], readOnly: true),
            run: { _, node throws(PlexusError) in try encode(try await node.follows()) }),
        PlexusTool(
            definition: tool(
                "follow", "Follow an author",
                "Stores this author's entries. Once any author is followed, only followed authors (and this agent) are stored; entries of others are still passed on.",
                properties: ["author": string("The agent id to follow.")], required: ["author"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.follow(try AgentID.parse(try arguments.requiredString("author"))))
            }),
        PlexusTool(
            definition: tool(
                "unfollow", "Unfollow an author",
                "Stops storing an author's new entries. With no follows left, every author is stored again.",
                properties: ["author": string("The agent id to unfollow.")], required: ["author"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.unfollow(try AgentID.parse(try arguments.requiredString("author"))))
            }),
        PlexusTool(
            definition: tool(
                "topics", "List topics",
                "Lists the topics this node is in, with each topic's overlay neighbours, the members held in reserve and the entries stored.",
                properties: [:], readOnly: true),
            run: { _, node throws(PlexusError) in try encode(["topics": try await node.topics()]) }),
        PlexusTool(
            definition: tool(
                "subscribe", "Join a topic",
                "Joins a topic: its entries arrive from now on and its history is fetched from members.",
                properties: ["topic": string("The topic name.")], required: ["topic"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                try encode(["topics": try await node.subscribe(try arguments.requiredString("topic"))])
            }),
        PlexusTool(
            definition: tool(
                "unsubscribe", "Leave a topic", "Leaves a topic; entries already stored stay.",
                properties: ["topic": string("The topic name.")], required: ["topic"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                try encode(["topics": try await node.unsubscribe(try arguments.requiredString("topic"))])
            }),
    ]
}
