import Foundation

/// A private group's knowledge market (DESIGN §9, PROTOCOL.md §14.6): offers of goods
/// sealed under a key the seller reveals to a buyer in the same entry that takes the
/// buyer's locked price. `group` takes an id or a name; an offer is named by its entry id
/// (the node finds the group that holds it).
public protocol MarketService: Sendable {
    /// The group's offers, newest first, or those matching `query` (title, description,
    /// name, tags), best first; withdrawn ones only when asked.
    func offers(group: String, _ request: OfferListRequest) async throws(PlexusError) -> OfferList
    /// One offer, with the purchases this agent takes part in.
    func offer(_ offer: EntryID) async throws(PlexusError) -> OfferView
    /// Publishes an offer: the goods are sealed under a fresh key only buyers learn.
    func createOffer(group: String, _ request: OfferCreateRequest) async throws(PlexusError) -> OfferView
    /// Buys an offer: locks its price in this agent's account chain until the seller's
    /// node claims it (revealing the key) or the deadline passes (then this node takes the
    /// price back); waits up to `wait_s` for the claim.
    func buy(_ offer: EntryID, _ request: BuyRequest) async throws(PlexusError) -> PurchaseView
    /// Withdraws one of this agent's offers: lists hide it and buyers' nodes refuse to buy
    /// it; purchases already made are still served.
    func withdraw(_ offer: EntryID) async throws(PlexusError) -> OfferView
    /// The goods, opened: for the seller, and for a buyer whose purchase was claimed.
    func goods(_ offer: EntryID) async throws(PlexusError) -> GoodsView
}

/// How to list a group's offers.
public struct OfferListRequest: Sendable, Equatable {
    /// Words to search for; nil lists every offer.
    public var query: String?
    public var includeWithdrawn: Bool
    /// Most offers (1–200, default 50).
    public var limit: Int?

    public init(query: String? = nil, includeWithdrawn: Bool = false, limit: Int? = nil) {
        self.query = query
        self.includeWithdrawn = includeWithdrawn
        self.limit = limit
    }

    public func validated() throws(PlexusError) -> OfferListRequest {
        guard (1...200).contains(limit ?? 50) else { throw PlexusError(.invalidArgument, "limit must be from 1 to 200") }
        guard (query?.utf8.count ?? 0) <= 1024 else { throw PlexusError(.tooLarge, "a search query is at most 1024 bytes") }
        return self
    }
}

/// The body of `POST /v1/groups/{group}/offers`.
public struct OfferCreateRequest: Codable, Sendable, Equatable {
    public var title: String
    public var description: String?
    public var tags: [String]?
    /// Whole tokens of the group's currency.
    public var price: Int64
    /// A name for the goods (a file name, say).
    public var name: String?
    public var mediaType: String?
    /// The goods, base64 (at most `MarketLimits.maxGoodsBytes` bytes once decoded).
    public var content: String?
    /// Or a blob held here whose bytes are the goods, of any size: sold sealed as a blob of
    /// its own (PROTOCOL.md §14.6, §15.1).
    public var blob: BlobID?

    public init(
        title: String, description: String? = nil, tags: [String]? = nil, price: Int64, name: String? = nil, mediaType: String? = nil,
        content: Data? = nil, blob: BlobID? = nil
    ) {
        self.title = title
        self.description = description
        self.tags = tags
        self.price = price
        self.name = name
        self.mediaType = mediaType
        self.content = content?.base64EncodedString()
        self.blob = blob
    }

    /// The goods carried inline, checked; `invalidArgument` or `tooLarge` for what the
    /// offer cannot carry. Empty when the goods are a blob.
    public func goods() throws(PlexusError) -> Data {
        guard (content == nil) != (blob == nil) else {
            throw PlexusError(.invalidContent, "give the goods as either content (base64) or blob (the id of a blob held here)")
        }
        guard let content else { return Data() }
        guard let data = Data(base64Encoded: content) else { throw PlexusError(.invalidContent, "content must be the goods in base64") }
        guard data.count <= MarketLimits.maxGoodsBytes else {
            throw PlexusError(.tooLarge, "goods carried in an offer are at most \(MarketLimits.maxGoodsBytes) bytes (got \(data.count))")
        }
        return data
    }

    public func validated() throws(PlexusError) -> OfferCreateRequest {
        func text(_ value: String?, _ name: String, _ limit: Int) throws(PlexusError) {
            guard let value else { return }
            guard !value.isEmpty else { throw PlexusError(.invalidArgument, "\(name) must not be empty") }
            guard value.utf8.count <= limit else { throw PlexusError(.tooLarge, "\(name) is at most \(limit) bytes of UTF-8") }
        }
        try text(title, "title", MarketLimits.maxTitleBytes)
        try text(description, "description", MarketLimits.maxDescriptionBytes)
        try text(name, "name", MarketLimits.maxNameBytes)
        try text(mediaType, "media_type", MarketLimits.maxMediaTypeBytes)
        let tags = tags ?? []
        guard tags.count <= MarketLimits.maxTags, tags.allSatisfy({ !$0.isEmpty }) else {
            throw PlexusError(.invalidArgument, "at most \(MarketLimits.maxTags) tags, none empty")
        }
        for tag in tags { try text(tag, "a tag", MarketLimits.maxTagBytes) }
        guard price >= 1, price <= PolicyRequest.maxAmount else { throw PlexusError(.invalidArgument, "price must be a whole number from 1 to 2^53") }
        _ = try goods()
        return self
    }

    enum CodingKeys: String, CodingKey {
        case title, description, tags, price, name, content, blob
        case mediaType = "media_type"
    }
}

/// The body of `POST /v1/offers/{offer}/buy`.
public struct BuyRequest: Codable, Sendable, Equatable {
    /// How long the seller has to claim before this node takes the price back (1 s to 30
    /// days; default 1 hour).
    public var deadlineS: Int64?
    /// How long to wait for the seller's claim before answering (0–300 s; default 0).
    public var waitS: Int?

    public static let defaultDeadlineS: Int64 = 3600

    public init(deadlineS: Int64? = nil, waitS: Int? = nil) {
        self.deadlineS = deadlineS
        self.waitS = waitS
    }

    public func validated() throws(PlexusError) -> BuyRequest {
        guard (MarketLimits.minDeadlineMs / 1000...MarketLimits.maxDeadlineMs / 1000).contains(deadlineS ?? Self.defaultDeadlineS) else {
            throw PlexusError(.invalidArgument, "deadline_s must be from 1 to \(MarketLimits.maxDeadlineMs / 1000) (30 days)")
        }
        guard (0...300).contains(waitS ?? 0) else { throw PlexusError(.invalidArgument, "wait_s must be from 0 to 300") }
        return self
    }

    enum CodingKeys: String, CodingKey {
        case deadlineS = "deadline_s", waitS = "wait_s"
    }
}

/// An offer as a member sees it: what is sold, not the goods.
public struct OfferView: Codable, Sendable, Equatable {
    public var id: EntryID
    public var group: EntryID
    public var seller: AgentID
    public var title: String
    public var description: String?
    public var tags: [String]
    public var price: Int64
    public var name: String?
    public var mediaType: String?
    /// Bytes of the goods.
    public var size: Int
    public var createdMs: Int64
    public var withdrawn: Bool
    /// Purchases the seller claimed.
    public var sales: Int
    /// Whether this agent can open the goods (it sells them, or bought them).
    public var readable: Bool
    /// The purchases this agent takes part in (as buyer, or all of them for the seller).
    public var purchases: [PurchaseView]

    public init(
        id: EntryID, group: EntryID, seller: AgentID, title: String, description: String?, tags: [String], price: Int64, name: String?,
        mediaType: String?, size: Int, createdMs: Int64, withdrawn: Bool, sales: Int, readable: Bool, purchases: [PurchaseView]
    ) {
        self.id = id
        self.group = group
        self.seller = seller
        self.title = title
        self.description = description
        self.tags = tags
        self.price = price
        self.name = name
        self.mediaType = mediaType
        self.size = size
        self.createdMs = createdMs
        self.withdrawn = withdrawn
        self.sales = sales
        self.readable = readable
        self.purchases = purchases
    }

    enum CodingKeys: String, CodingKey {
        case id, group, seller, title, description, tags, price, name, size, withdrawn, sales, readable, purchases
        case mediaType = "media_type", createdMs = "created_ms"
    }
}

/// A page of offers.
public struct OfferList: Codable, Sendable, Equatable {
    public var offers: [OfferView]

    public init(offers: [OfferView]) {
        self.offers = offers
    }
}

/// A purchase and how it stands.
public struct PurchaseView: Codable, Sendable, Equatable {
    public var id: EntryID
    public var offer: EntryID
    public var buyer: AgentID
    public var seller: AgentID
    public var price: Int64
    /// `open` (locked, waiting for the claim), `claimed`, `refunded`; `refused` when the
    /// ledger does not count the lock, `waiting` while it waits for an entry not held yet.
    public var state: String
    public var deadlineMs: Int64
    public var createdMs: Int64
    /// The seller's claim that stands.
    public var claim: EntryID?
    /// Claims proven bad (their masked key did not open to the offer's key).
    public var voided: [EntryID]
    public var refund: EntryID?

    public init(
        id: EntryID, offer: EntryID, buyer: AgentID, seller: AgentID, price: Int64, state: String, deadlineMs: Int64, createdMs: Int64,
        claim: EntryID?, voided: [EntryID], refund: EntryID?
    ) {
        self.id = id
        self.offer = offer
        self.buyer = buyer
        self.seller = seller
        self.price = price
        self.state = state
        self.deadlineMs = deadlineMs
        self.createdMs = createdMs
        self.claim = claim
        self.voided = voided
        self.refund = refund
    }

    enum CodingKeys: String, CodingKey {
        case id, offer, buyer, seller, price, state, claim, voided, refund
        case deadlineMs = "deadline_ms", createdMs = "created_ms"
    }
}

/// An offer's goods, opened.
public struct GoodsView: Codable, Sendable, Equatable {
    public var offer: EntryID
    public var name: String?
    public var mediaType: String?
    public var size: Int
    /// The goods, base64.
    public var content: String

    public init(offer: EntryID, name: String?, mediaType: String?, content: Data) {
        self.offer = offer
        self.name = name
        self.mediaType = mediaType
        self.size = content.count
        self.content = content.base64EncodedString()
    }

    /// The goods' bytes.
    public var bytes: Data? { Data(base64Encoded: content) }

    enum CodingKeys: String, CodingKey {
        case offer, name, size, content
        case mediaType = "media_type"
    }
}
