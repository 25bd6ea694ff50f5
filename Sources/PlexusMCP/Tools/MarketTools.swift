import Foundation
import PlexusCore

extension ToolCatalog {
    /// A group's knowledge market: `offer_list`, `offer_create`, `offer_buy`, `offer_withdraw`,
    /// `offer_goods`.
    static let market: [PlexusTool] = [
        PlexusTool(
            definition: tool(
                "offer_list", "List or search a group's offers",
                "Offers for sale in a private group: title, description, tags, price, seller and size (not the goods), newest first, or the best matches of a query.",
                properties: [
                    "group": string("The group's id or name."),
                    "query": string("Words to search for in titles, descriptions, names and tags."),
                    "withdrawn": boolean("Also offers their sellers withdrew."),
                    "limit": integer("Most offers (1-200, default 50).", minimum: 1, maximum: 200),
                ],
                required: ["group"], readOnly: true),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.offers(
                    group: try arguments.requiredString("group"),
                    OfferListRequest(query: try arguments.string("query"), includeWithdrawn: try arguments.bool("withdrawn") ?? false, limit: try arguments.int("limit"))))
            }),
        PlexusTool(
            definition: tool(
                "offer_create", "Sell knowledge in a group",
                "Publishes an offer in a private group. The goods are sealed under a key that only the seller and its buyers learn: a buyer's payment is locked until this node claims it, which reveals the key to that buyer.",
                properties: [
                    "group": string("The group's id or name."),
                    "title": string("What is sold (at most 200 bytes)."),
                    "description": string("More about it, for buyers deciding (at most 4096 bytes)."),
                    "tags": ["type": "array", "items": ["type": "string"], "description": "Labels buyers search by (at most 16)."],
                    "price": integer("Whole tokens of the group's currency (at least 1).", minimum: 1),
                    "text": string("The goods as text."),
                    "content_base64": string("The goods as base64 (instead of text), at most 40 KiB."),
                    "name": string("A file name for the goods."),
                    "media_type": string("The goods' media type, e.g. text/markdown."),
                ],
                required: ["group", "title", "price"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                guard let price = try arguments.int("price") else { throw PlexusError(.invalidArgument, "missing argument 'price'") }
                let goods: Data
                switch (try arguments.string("text"), try arguments.string("content_base64")) {
                case (let text?, nil): goods = Data(text.utf8)
                case (nil, let base64?):
                    guard let data = Data(base64Encoded: base64) else { throw PlexusError(.invalidArgument, "'content_base64' is not base64") }
                    goods = data
                default: throw PlexusError(.invalidArgument, "give the goods as either 'text' or 'content_base64'")
                }
                let tags = try arguments.strings("tags")
                return try encode(try await node.createOffer(
                    group: try arguments.requiredString("group"),
                    OfferCreateRequest(
                        title: try arguments.requiredString("title"), description: try arguments.string("description"), tags: tags,
                        price: Int64(price), name: try arguments.string("name"), mediaType: try arguments.string("media_type"), content: goods)))
            }),
        PlexusTool(
            definition: tool(
                "offer_buy", "Buy an offer",
                "Locks the offer's price in this agent's account until the seller's node claims it, which reveals the goods' key to this agent alone; if the seller never claims, this node takes the price back after the deadline. Waits up to wait_s for the claim; then read the goods with offer_goods.",
                properties: [
                    "offer": string("The offer's id (64 hex)."),
                    "deadline_s": integer("Seconds the seller has to claim (default 3600).", minimum: 1, maximum: 2_592_000),
                    "wait_s": integer("Seconds to wait for the claim (0-300, default 30).", minimum: 0, maximum: 300),
                ],
                required: ["offer"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                guard let offer = try arguments.entryID("offer") else { throw PlexusError(.invalidArgument, "missing argument 'offer'") }
                return try encode(try await node.buy(
                    offer, BuyRequest(deadlineS: try arguments.int("deadline_s").map(Int64.init), waitS: try arguments.int("wait_s") ?? 30)))
            }),
        PlexusTool(
            definition: tool(
                "offer_goods", "Read what was bought",
                "The goods of an offer this agent sells or bought (once the seller claimed the purchase): as text when they are UTF-8, otherwise base64.",
                properties: ["offer": string("The offer's id (64 hex).")], required: ["offer"], readOnly: true),
            run: { arguments, node throws(PlexusError) in
                guard let offer = try arguments.entryID("offer") else { throw PlexusError(.invalidArgument, "missing argument 'offer'") }
                return try encode(ReadableGoods(try await node.goods(offer)))
            }),
        PlexusTool(
            definition: tool(
                "offer_withdraw", "Withdraw an offer",
                "Withdraws one of this agent's offers: it leaves the lists and buyers' nodes refuse to buy it; purchases already made are still served.",
                properties: ["offer": string("The offer's id (64 hex).")], required: ["offer"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                guard let offer = try arguments.entryID("offer") else { throw PlexusError(.invalidArgument, "missing argument 'offer'") }
                return try encode(try await node.withdraw(offer))
            }),
    ]
}

/// Goods for a model to read: the text when they are UTF-8, base64 otherwise.
private struct ReadableGoods: Encodable {
    let offer: EntryID
    let name: String?
    let mediaType: String?
    let size: Int
    let text: String?
    let contentBase64: String?

    init(_ goods: GoodsView) {
        self.offer = goods.offer
        self.name = goods.name
        self.mediaType = goods.mediaType
        self.size = goods.size
        let text = goods.bytes.flatMap { String(data: $0, encoding: .utf8) }
        self.text = text
        self.contentBase64 = text == nil ? goods.content : nil
    }

    enum CodingKeys: String, CodingKey {
        case offer, name, size, text
        case mediaType = "media_type", contentBase64 = "content_base64"
    }
}
