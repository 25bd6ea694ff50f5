import Foundation
import PlexusCore

/// The entry types of a group's knowledge market (PROTOCOL.md §14.6), sealed like every
/// member entry. `market.buy`, `market.claim` and `market.refund` are also account-chain
/// entries of the ledger (`LedgerMove`).
public enum MarketEntryType {
    public static let offer = "market.offer"
    public static let withdraw = "market.withdraw"
    public static let buy = "market.buy"
    public static let claim = "market.claim"
    public static let reject = "market.reject"
    public static let refund = "market.refund"

    public static let types: Set<String> = [offer, withdraw, buy, claim, reject, refund]
}

/// Reads the fields of a market entry's content, naming the entry in every error.
struct MarketContent {
    let item: GroupItem
    let fields: [String: JSONValue]

    init(_ item: GroupItem) {
        self.item = item
        self.fields = item.inner.content.objectValue ?? [:]
    }

    func fail(_ what: String) -> PlexusError {
        PlexusError(.malformedEnvelope, "\(item.inner.type) \(item.id.hex.prefix(12)) \(what)")
    }

    func text(_ key: String, maxBytes: Int, optional: Bool = false) throws(PlexusError) -> String? {
        switch fields[key] {
        case nil, .null?:
            if optional { return nil }
            throw fail("has no \(key)")
        case .string(let text)? where !text.isEmpty && text.utf8.count <= maxBytes:
            return text
        default:
            throw fail("needs \(key) as text of 1–\(maxBytes) bytes")
        }
    }

    func entryID(_ key: String) throws(PlexusError) -> EntryID {
        guard case .string(let text)? = fields[key], let id = EntryID(text) else { throw fail("needs \(key) as an entry id") }
        return id
    }

    func agentID(_ key: String) throws(PlexusError) -> AgentID {
        guard case .string(let text)? = fields[key], let id = AgentID(text) else { throw fail("needs \(key) as an agent id") }
        return id
    }

    func amount(_ key: String) throws(PlexusError) -> Int64 {
        guard case .integer(let value)? = fields[key], value >= 1, value <= LedgerPolicy.maxAmount else {
            throw fail("needs \(key) as a whole number from 1 to 2^53")
        }
        return value
    }

    func bytes(_ key: String, count: ClosedRange<Int>) throws(PlexusError) -> Data {
        guard case .string(let text)? = fields[key], let data = Data(base64Encoded: text), count.contains(data.count) else {
            throw fail("needs \(key) as base64 of \(count.lowerBound == count.upperBound ? "\(count.lowerBound)" : "\(count.lowerBound)–\(count.upperBound)") bytes")
        }
        return data
    }

    func hash(_ key: String) throws(PlexusError) -> Data {
        guard case .string(let text)? = fields[key], text.utf8.count == 64, let bytes = Hex.decode(text) else {
            throw fail("needs \(key) as 64 hex digits (SHA-256)")
        }
        return Data(bytes)
    }
}

/// Goods for sale in a group: what a buyer sees before paying, and the goods sealed under a
/// key only the seller and its buyers learn.
public struct MarketOffer: Sendable, Equatable {
    public let id: EntryID
    public let seller: AgentID
    public let title: String
    public let description: String?
    public let tags: [String]
    public let price: Int64
    /// A name for the goods (a file name, say), for the buyer to save them under.
    public let name: String?
    public let mediaType: String?
    /// SHA-256 of the content key.
    public let keyHash: Data
    /// The goods sealed under the content key (`MarketCrypto.sealGoods`).
    public let goods: Data
    /// The nonce the seller derives the content key from.
    public let nonce: Data
    public let createdMs: Int64
    /// The seller's withdrawal, when there is one (the lowest id of several).
    public internal(set) var withdrawn: EntryID?

    /// Bytes of the goods themselves.
    public var size: Int { goods.count - 16 }

    public init(_ item: GroupItem) throws(PlexusError) {
        let content = MarketContent(item)
        guard case .array(let list)? = content.fields["tags"] ?? .array([]), list.count <= MarketLimits.maxTags else {
            throw content.fail("has more than \(MarketLimits.maxTags) tags")
        }
        var tags: [String] = []
        for value in list {
            guard case .string(let tag) = value, !tag.isEmpty, tag.utf8.count <= MarketLimits.maxTagBytes else {
                throw content.fail("has a tag that is not text of 1–\(MarketLimits.maxTagBytes) bytes")
            }
            tags.append(tag)
        }
        self.id = item.id
        self.seller = item.author
        self.title = try content.text("title", maxBytes: MarketLimits.maxTitleBytes) ?? ""
        self.description = try content.text("description", maxBytes: MarketLimits.maxDescriptionBytes, optional: true)
        self.tags = tags
        self.price = try content.amount("price")
        self.name = try content.text("name", maxBytes: MarketLimits.maxNameBytes, optional: true)
        self.mediaType = try content.text("media_type", maxBytes: MarketLimits.maxMediaTypeBytes, optional: true)
        self.keyHash = try content.hash("key_hash")
        self.goods = try content.bytes("goods", count: 16...(MarketLimits.maxGoodsBytes + 16))
        self.nonce = try content.bytes("nonce", count: MarketCrypto.nonceBytes...MarketCrypto.nonceBytes)
        self.createdMs = item.timeMs
    }

    /// The text of an offer entry for search and context: title, description, name and tags
    /// (not the goods, nor the hashes).
    public static func searchText(of item: GroupItem) -> String {
        let content = item.inner.content.objectValue ?? [:]
        let words = ["title", "description", "name"].compactMap { key -> String? in
            if case .string(let text)? = content[key] { return text }
            return nil
        }
        let tags: [String] = if case .array(let list)? = content["tags"] {
            list.compactMap { if case .string(let tag) = $0 { tag } else { nil } }
        } else {
            []
        }
        return (words + tags).joined(separator: " ")
    }
}

/// A buyer's purchase: the price locked in its account chain until the seller's claim
/// takes it (revealing the key) or the buyer takes it back after the deadline.
public struct MarketPurchase: Sendable, Equatable {
    public enum State: String, Sendable, Equatable, Codable {
        /// Locked, waiting for the seller's claim.
        case open
        /// The seller claimed it: the key is revealed to the buyer, the price is the seller's.
        case claimed
        /// The buyer took the price back (after the deadline, or after proving a claim bad).
        case refunded
    }

    public let id: EntryID
    public let buyer: AgentID
    public let offer: EntryID
    public let seller: AgentID
    public let price: Int64
    /// The offer's key hash the purchase is conditioned on.
    public let keyHash: Data
    /// SHA-256 of the buyer's secret r.
    public let secretHash: Data
    /// r sealed to the seller (`AgentSeal`, label `MarketCrypto.secretSealLabel`).
    public let sealedSecret: (encapsulatedKey: Data, ciphertext: Data)
    /// The nonce the buyer derives r from.
    public let nonce: Data
    /// After this time (the buyer's refund entry's own time) the buyer may take the price back.
    public let deadlineMs: Int64
    public let timeMs: Int64
    /// The seller's claims that stand (not proven bad), lowest id first.
    public internal(set) var claims: [EntryID] = []
    /// The seller's claims proven bad by a `market.reject`.
    public internal(set) var voided: [EntryID] = []
    /// The buyer's refund that stands (none while a claim stands).
    public internal(set) var refund: EntryID?

    public var state: State {
        if !claims.isEmpty { return .claimed }
        return refund == nil ? .open : .refunded
    }

    /// Whom the locked price goes to, once settled: the ledger's escrow input.
    public var payee: AgentID? {
        switch state {
        case .open: nil
        case .claimed: seller
        case .refunded: buyer
        }
    }

    public init(_ item: GroupItem) throws(PlexusError) {
        let content = MarketContent(item)
        self.id = item.id
        self.buyer = item.author
        self.offer = try content.entryID("offer")
        self.seller = try content.agentID("seller")
        guard seller != buyer else { throw content.fail("buys from its own author") }
        self.price = try content.amount("price")
        self.keyHash = try content.hash("key_hash")
        self.secretHash = try content.hash("secret_hash")
        let sealed = try content.bytes("secret_seal", count: 80...80)
        self.sealedSecret = (sealed.prefix(32), sealed.suffix(48))
        self.nonce = try content.bytes("nonce", count: MarketCrypto.nonceBytes...MarketCrypto.nonceBytes)
        guard case .integer(let deadline)? = content.fields["deadline_ms"], deadline > item.timeMs,
              case let wait = deadline.subtractingReportingOverflow(item.timeMs), !wait.overflow,
              wait.partialValue <= MarketLimits.maxDeadlineMs
        else { throw content.fail("needs deadline_ms after its own time, by at most 30 days") }
        self.deadlineMs = deadline
        self.timeMs = item.timeMs
    }

    public static func == (lhs: MarketPurchase, rhs: MarketPurchase) -> Bool {
        lhs.id == rhs.id && lhs.claims == rhs.claims && lhs.voided == rhs.voided && lhs.refund == rhs.refund
    }
}

/// A seller's claim of a purchase: the content key masked with the buyer's secret.
public struct MarketClaim: Sendable, Equatable {
    public let id: EntryID
    public let seller: AgentID
    public let purchase: EntryID
    /// K ⊕ mask(r) (`MarketCrypto.maskedKey`).
    public let maskedKey: Data

    public init(_ item: GroupItem) throws(PlexusError) {
        let content = MarketContent(item)
        self.id = item.id
        self.seller = item.author
        self.purchase = try content.entryID("purchase")
        self.maskedKey = try content.bytes("masked_key", count: MarketCrypto.keyBytes...MarketCrypto.keyBytes)
    }
}

/// A knowledge market's state (PROTOCOL.md §14.6): the offers, the purchases and how each
/// is settled. Pure and deterministic: a function of the set of held entries, so every node
/// holding the same entries settles every purchase the same way.
///
/// - A withdrawal by the offer's seller withdraws it (lists hide it; purchases made stand).
/// - A claim counts when its author is the purchase's seller and no `market.reject` proves
///   it bad: a reject reveals a secret r with SHA-256(r) = the purchase's secret hash under
///   which the claim's masked key does not open to a key with the purchase's key hash, or
///   to one that does not open the offer's goods (`delivers`).
/// - A refund by the buyer counts when its own time is at or past the purchase's deadline,
///   or a claim of the purchase was proven bad — and no claim counts: a claim beats a
///   refund, whenever it arrives (the buyer has the goods then).
/// - The ledger settles the locked price by `escrows`: to the seller when claimed, to the
///   buyer when refunded.
public struct Market: Sendable {
    public fileprivate(set) var offers: [EntryID: MarketOffer] = [:]
    public fileprivate(set) var purchases: [EntryID: MarketPurchase] = [:]
    public fileprivate(set) var claims: [EntryID: MarketClaim] = [:]
    /// Market entries that have no effect, and why.
    public fileprivate(set) var refused: [EntryID: String] = [:]

    public init() {}

    /// Whom each settled purchase's price goes to.
    public var escrows: [EntryID: AgentID] {
        purchases.compactMapValues(\.payee)
    }

    /// Whether `claim`, unmasked with the purchase's secret, gives the key the purchase was
    /// promised and (when the offer is held) that key opens the offer's goods.
    public func delivers(_ claim: MarketClaim, of purchase: MarketPurchase, secret: Data) -> Bool {
        let key = MarketCrypto.unmask(claim.maskedKey, secret: secret, purchase: purchase.id)
        guard MarketCrypto.hash(key) == purchase.keyHash else { return false }
        guard let offer = offers[purchase.offer] else { return true }
        return (try? MarketCrypto.openGoods(offer.goods, key: key)) != nil
    }

    /// Folds a group's opened items (any order; other types ignored).
    public static func fold(_ items: [GroupItem]) -> Market {
        var market = Market()
        var withdrawals: [GroupItem] = []
        var rejects: [GroupItem] = []
        var refunds: [GroupItem] = []
        var claimItems: [GroupItem] = []
        for item in items {
            do throws(PlexusError) {
                switch item.inner.type {
                case MarketEntryType.offer: market.offers[item.id] = try MarketOffer(item)
                case MarketEntryType.buy: market.purchases[item.id] = try MarketPurchase(item)
                case MarketEntryType.claim: claimItems.append(item)
                case MarketEntryType.withdraw: withdrawals.append(item)
                case MarketEntryType.reject: rejects.append(item)
                case MarketEntryType.refund: refunds.append(item)
                default: continue
                }
            } catch {
                market.refused[item.id] = error.message
            }
        }
        for item in withdrawals.sorted(by: { $0.id.bytes.lexicographicallyPrecedes($1.id.bytes) }) {
            guard let offer = try? MarketContent(item).entryID("offer") else {
                market.refused[item.id] = "names no offer"
                continue
            }
            guard let held = market.offers[offer] else { continue }
            guard held.seller == item.author else {
                market.refused[item.id] = "only the seller withdraws an offer"
                continue
            }
            if held.withdrawn == nil { market.offers[offer]?.withdrawn = item.id }
        }
        for item in claimItems {
            do throws(PlexusError) {
                let claim = try MarketClaim(item)
                guard let purchase = market.purchases[claim.purchase] else { continue }
                guard purchase.seller == claim.seller else {
                    market.refused[claim.id] = "only the purchase's seller claims it"
                    continue
                }
                market.claims[claim.id] = claim
            } catch {
                market.refused[item.id] = error.message
            }
        }
        var voided: Set<EntryID> = []
        for item in rejects {
            let content = MarketContent(item)
            guard let claimID = try? content.entryID("claim"),
                  let secret = try? content.bytes("secret", count: MarketCrypto.keyBytes...MarketCrypto.keyBytes)
            else {
                market.refused[item.id] = "needs a claim and a 32-byte secret"
                continue
            }
            guard let claim = market.claims[claimID], let purchase = market.purchases[claim.purchase] else { continue }
            guard MarketCrypto.hash(secret) == purchase.secretHash else {
                market.refused[item.id] = "its secret is not the purchase's"
                continue
            }
            guard !market.delivers(claim, of: purchase, secret: secret) else {
                market.refused[item.id] = "the claim's masked key opens to the promised key, and that key opens the goods"
                continue
            }
            voided.insert(claimID)
        }
        for claim in market.claims.values.sorted(by: { $0.id.bytes.lexicographicallyPrecedes($1.id.bytes) }) {
            if voided.contains(claim.id) {
                market.purchases[claim.purchase]?.voided.append(claim.id)
                market.refused[claim.id] = "proven bad: its masked key does not open to the offer's key"
            } else {
                market.purchases[claim.purchase]?.claims.append(claim.id)
            }
        }
        for item in refunds.sorted(by: { $0.id.bytes.lexicographicallyPrecedes($1.id.bytes) }) {
            guard let purchaseID = try? MarketContent(item).entryID("purchase") else {
                market.refused[item.id] = "names no purchase"
                continue
            }
            guard let purchase = market.purchases[purchaseID] else { continue }
            if purchase.buyer != item.author {
                market.refused[item.id] = "only the buyer takes a purchase back"
            } else if !purchase.claims.isEmpty {
                market.refused[item.id] = "the seller claimed the purchase"
            } else if item.timeMs < purchase.deadlineMs && purchase.voided.isEmpty {
                market.refused[item.id] = "comes before the purchase's deadline and no claim of it was proven bad"
            } else if purchase.refund == nil {
                market.purchases[purchaseID]?.refund = item.id
            }
        }
        return market
    }
}
