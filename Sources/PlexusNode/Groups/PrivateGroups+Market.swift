import Crypto
import Foundation
import PlexusCore
import PlexusProtocol

/// A group's knowledge market (PROTOCOL.md §14.6): offers, purchases that lock the price in
/// the buyer's account chain, and what a node does by itself: the seller's node claims each
/// purchase of its offers (revealing the key to the buyer), the buyer's node proves a bad
/// claim bad and takes the price back after the deadline.
extension PrivateGroups {
    /// The market as the fold over the group's market entries leaves it (over every entry,
    /// retracted or expired ones too: a retraction hides an entry, not its money).
    static func market(of group: Group) -> Market {
        Market.fold(group.log.items(ofTypes: MarketEntryType.types))
    }

    // MARK: - Reading

    func offers(_ reference: String, _ request: OfferListRequest) async throws(PlexusError) -> OfferList {
        let request = try request.validated()
        let group = try resolve(reference)
        let market = Self.market(of: group)
        let limit = request.limit ?? 50
        let listed = { (offer: MarketOffer) in request.includeWithdrawn || offer.withdrawn == nil }
        let offers: [MarketOffer]
        if let query = request.query, !query.isEmpty {
            offers = group.index.search(query, limit: limit) { id in market.offers[id].map(listed) ?? false }
                .compactMap { market.offers[$0.id] }
        } else {
            offers = Array(market.offers.values.filter(listed).sorted { ($0.createdMs, $0.id.hex) > ($1.createdMs, $1.id.hex) }.prefix(limit))
        }
        let ledger = try await ledgerIfAny(of: group)
        return OfferList(offers: offers.map { view($0, market: market, ledger: ledger, in: group) })
    }

    func offer(_ id: EntryID) async throws(PlexusError) -> OfferView {
        let (group, market, offer) = try locateOffer(id)
        return view(offer, market: market, ledger: try await ledgerIfAny(of: group), in: group)
    }

    func goods(_ id: EntryID) async throws(PlexusError) -> GoodsView {
        let (group, market, offer) = try locateOffer(id)
        guard let key = contentKey(of: offer, market: market, in: group) else {
            let pending = market.purchases.values.contains { $0.offer == id && $0.buyer == key.id && $0.state == .open }
            throw pending
                ? PlexusError(.rejected, "the purchase of \(id.hex.prefix(12)) waits for the seller's claim")
                : PlexusError(.forbidden, "only the seller and buyers whose purchase was claimed read the goods of \(id.hex.prefix(12))")
        }
        return GoodsView(offer: id, name: offer.name, mediaType: offer.mediaType, content: try MarketCrypto.openGoods(offer.goods, key: key))
    }

    // MARK: - Writing

    /// A fresh nonce and the content key of an offer about to be made in group
    /// `reference`, with the domain its goods blob is sealed in (PROTOCOL.md §15.1).
    func offerSealing(_ reference: String) throws(PlexusError) -> (nonce: Data, key: SymmetricKey, domain: String) {
        let group = try resolve(reference)
        guard group.roster.policy != nil else { throw Self.noLedger(group) }
        let nonce = MarketCrypto.nonce()
        return (nonce, MarketCrypto.contentKey(of: key, group: group.membership.id, nonce: nonce), Self.goodsDomain(group.membership.id))
    }

    /// The key a sealed goods blob of `offer` opens with, when this agent may read its goods.
    func goodsBlobKey(_ offer: EntryID) throws(PlexusError) -> (key: SymmetricKey, domain: String) {
        let (group, market, found) = try locateOffer(offer)
        guard let key = contentKey(of: found, market: market, in: group) else {
            throw PlexusError(.forbidden, "only the seller and buyers whose purchase was claimed read the goods of \(offer.hex.prefix(12))")
        }
        return (key, Self.goodsDomain(group.membership.id))
    }

    private static func goodsDomain(_ group: EntryID) -> String { "market:" + group.hex }

    /// Makes an offer. `prepared` carries the nonce and key its goods blob was sealed with
    /// and the goods (the blob's reference) when they are a blob.
    func createOffer(
        _ reference: String, _ request: OfferCreateRequest, prepared: (nonce: Data, key: SymmetricKey, goods: Data)? = nil
    ) async throws(PlexusError) -> OfferView {
        let request = try request.validated()
        let group = try resolve(reference)
        guard group.roster.policy != nil else { throw Self.noLedger(group) }
        let nonce = prepared?.nonce ?? MarketCrypto.nonce()
        let contentKey = prepared?.key ?? MarketCrypto.contentKey(of: key, group: group.membership.id, nonce: nonce)
        let goods = if let prepared { prepared.goods } else { try request.goods() }
        var content: [String: JSONValue] = [
            "title": .string(request.title), "price": .integer(request.price),
            "tags": .array((request.tags ?? []).map(JSONValue.string)),
            "key_hash": .string(Hex.encode(MarketCrypto.hash(contentKey))),
            "goods": .string(try MarketCrypto.sealGoods(goods, key: contentKey).base64EncodedString()),
            "nonce": .string(nonce.base64EncodedString()),
        ]
        if let description = request.description { content["description"] = .string(description) }
        if let name = request.name { content["name"] = .string(name) }
        let mediaType = prepared != nil ? MarketLimits.blobGoodsMediaType : request.mediaType
        if let mediaType { content["media_type"] = .string(mediaType) }
        let stored = try await seal(GroupInner(type: MarketEntryType.offer, content: .object(content)), expiresMs: nil, in: group.membership.id)
        return try await offer(stored.entry.id)
    }

    func withdraw(_ id: EntryID) async throws(PlexusError) -> OfferView {
        let (group, _, offer) = try locateOffer(id)
        guard offer.seller == key.id else { throw PlexusError(.forbidden, "only its seller withdraws an offer") }
        if offer.withdrawn == nil {
            _ = try await seal(
                GroupInner(type: MarketEntryType.withdraw, refs: [id], content: .object(["offer": .string(id.hex)])), expiresMs: nil,
                in: group.membership.id)
        }
        return try await self.offer(id)
    }

    func buy(_ id: EntryID, _ request: BuyRequest) async throws(PlexusError) -> PurchaseView {
        let request = try request.validated()
        // The group is read in a helper: a copy held across the write would make it copy its log.
        let (groupID, fields) = try purchaseFields(id, request)
        let posting = try await writeLedger(MarketEntryType.buy, fields, in: groupID)
        let deadline = ContinuousClock.now + .seconds(request.waitS ?? 0)
        while true {
            if let view = try await purchaseView(posting.id, in: groupID, unlessOpenBefore: deadline) { return view }
            await withCheckedContinuation { logWaiters.add(groupID, until: deadline, $0) }
        }
    }

    /// The purchase as it stands, once it is settled or `deadline` has passed (nil before).
    private func purchaseView(
        _ purchase: EntryID, in groupID: EntryID, unlessOpenBefore deadline: ContinuousClock.Instant
    ) async throws(PlexusError) -> PurchaseView? {
        guard let current = groups[groupID] else { throw PlexusError(.notFound, "the group was left") }
        guard let held = Self.market(of: current).purchases[purchase], held.state != .open || ContinuousClock.now >= deadline else { return nil }
        return Self.view(held, ledger: try await ledgerIfAny(of: current))
    }

    /// The group of offer `id` and the content of a purchase of it, once this agent may buy it.
    private func purchaseFields(_ id: EntryID, _ request: BuyRequest) throws(PlexusError) -> (EntryID, [String: JSONValue]) {
        let (group, market, offer) = try locateOffer(id)
        guard offer.seller != key.id else { throw PlexusError(.invalidContent, "this agent sells \(id.hex.prefix(12)); it does not buy it") }
        guard offer.withdrawn == nil else { throw PlexusError(.rejected, "the offer \(id.hex.prefix(12)) was withdrawn") }
        if let held = market.purchases.values.first(where: { $0.offer == id && $0.buyer == key.id && $0.state != .refunded }) {
            throw PlexusError(.rejected, "this agent bought \(id.hex.prefix(12)) already (purchase \(held.id.hex.prefix(12)), \(held.state.rawValue))")
        }
        guard (group.roster.members[offer.seller] ?? .reader) >= .member else {
            throw PlexusError(.rejected, "the seller \(offer.seller.short) is no longer a member of \(group.membership.name) who may write")
        }
        guard let binding = Self.binding(of: offer.seller, in: group), let sellerKey = binding.verifiedKey() else {
            throw PlexusError(.rejected, "no signed exchange key of the seller \(offer.seller.short) is held")
        }
        let nonce = MarketCrypto.nonce()
        let secret = MarketCrypto.buyerSecret(of: key, group: group.membership.id, nonce: nonce)
        let sealed = try AgentSeal.seal(secret, to: offer.seller, key: sellerKey, label: MarketCrypto.secretSealLabel)
        let fields: [String: JSONValue] = [
            "offer": .string(id.hex), "seller": .string(offer.seller.hex), "price": .integer(offer.price),
            "key_hash": .string(Hex.encode(offer.keyHash)), "secret_hash": .string(Hex.encode(MarketCrypto.hash(secret))),
            "secret_seal": .string((sealed.encapsulatedKey + sealed.ciphertext).base64EncodedString()),
            "nonce": .string(nonce.base64EncodedString()),
            "deadline_ms": .integer(clock.nowMs + (request.deadlineS ?? BuyRequest.defaultDeadlineS) * 1000),
        ]
        return (group.membership.id, fields)
    }

    // MARK: - By itself

    /// The seller's claims, the buyer's rejections of bad claims and its refunds, for the
    /// purchases this agent takes part in (PROTOCOL.md §14.6).
    func keepMarket(in id: EntryID) async throws(PlexusError) {
        guard let (market, rejected) = groups[id].map({ group in
            (Self.market(of: group), Set(group.log.items(ofTypes: [MarketEntryType.reject]).filter { $0.author == self.key.id }.map(\.inner.refs)))
        }) else { return }
        let mine = market.purchases.values.filter { $0.seller == key.id || $0.buyer == key.id }
        guard !mine.isEmpty, let ledger = try await ledgerState(in: id) else { return }
        for purchase in mine.sorted(by: { $0.timeMs < $1.timeMs }) where ledger.escrowed[purchase.id] != nil || purchase.state == .claimed {
            if purchase.seller == key.id {
                try await claim(purchase, market: market, in: id)
            } else {
                try await settleAsBuyer(purchase, market: market, rejected: rejected, in: id)
            }
        }
    }

    private func claim(_ purchase: MarketPurchase, market: Market, in id: EntryID) async throws(PlexusError) {
        guard purchase.state == .open, purchase.voided.isEmpty, clock.nowMs < purchase.deadlineMs,
              let offer = market.offers[purchase.offer], offer.seller == key.id
        else { return }
        guard offer.price == purchase.price, offer.keyHash == purchase.keyHash else {
            logger.notice("a purchase does not match its offer; left to run out", metadata: ["purchase": "\(purchase.id.hex.prefix(12))"])
            return
        }
        guard let secret = try? AgentSeal.open(
            encapsulatedKey: purchase.sealedSecret.encapsulatedKey, ciphertext: purchase.sealedSecret.ciphertext, recipient: key.id,
            key: exchangeKey, label: MarketCrypto.secretSealLabel),
            secret.count == MarketCrypto.keyBytes, MarketCrypto.hash(secret) == purchase.secretHash
        else {
            logger.notice("a purchase's secret does not open to its hash; left to run out", metadata: ["purchase": "\(purchase.id.hex.prefix(12))"])
            return
        }
        let contentKey = MarketCrypto.contentKey(of: key, group: id, nonce: offer.nonce)
        guard MarketCrypto.hash(contentKey) == offer.keyHash else {
            logger.notice("an offer's key is not one this node derives; its purchases are left to run out", metadata: ["offer": "\(offer.id.hex.prefix(12))"])
            return
        }
        let masked = MarketCrypto.maskedKey(contentKey, secret: secret, purchase: purchase.id)
        _ = try await writeLedger(
            MarketEntryType.claim, ["purchase": .string(purchase.id.hex), "masked_key": .string(masked.base64EncodedString())], in: id)
    }

    /// `rejected`: the refs ([purchase, claim]) of this agent's rejections so far.
    private func settleAsBuyer(
        _ purchase: MarketPurchase, market: Market, rejected: Set<[EntryID]>, in id: EntryID
    ) async throws(PlexusError) {
        let secret = MarketCrypto.buyerSecret(of: key, group: id, nonce: purchase.nonce)
        for claimID in purchase.claims {
            guard let claim = market.claims[claimID], !rejected.contains([purchase.id, claimID]),
                  !market.delivers(claim, of: purchase, secret: secret)
            else { continue }
            logger.warning("a seller's claim does not reveal the key to the goods: proving it bad", metadata: ["claim": "\(claimID.hex.prefix(12))"])
            let content: [String: JSONValue] = [
                "purchase": .string(purchase.id.hex), "claim": .string(claimID.hex), "secret": .string(secret.base64EncodedString()),
            ]
            _ = try await seal(GroupInner(type: MarketEntryType.reject, refs: [purchase.id, claimID], content: .object(content)), expiresMs: nil, in: id)
            return  // the next pass sees the claim voided
        }
        guard purchase.state == .open, clock.nowMs >= purchase.deadlineMs || !purchase.voided.isEmpty else { return }
        _ = try await writeLedger(MarketEntryType.refund, ["purchase": .string(purchase.id.hex)], in: id)
    }

    // MARK: - Helpers

    /// The group holding offer `id`, its market and the offer.
    private func locateOffer(_ id: EntryID) throws(PlexusError) -> (Group, Market, MarketOffer) {
        for group in groups.values where group.log[id] != nil {
            let market = Self.market(of: group)
            guard let offer = market.offers[id] else {
                throw PlexusError(.notFound, "\(id.hex.prefix(12)) is not an offer (\(market.refused[id] ?? "another kind of entry"))")
            }
            return (group, market, offer)
        }
        throw PlexusError(.notFound, "no offer \(id.hex.prefix(12)) in the groups this node holds")
    }

    /// The offer's content key, when this agent sells it or bought it and holds a claim
    /// that reveals it.
    private func contentKey(of offer: MarketOffer, market: Market, in group: Group) -> SymmetricKey? {
        if offer.seller == key.id { return MarketCrypto.contentKey(of: key, group: group.membership.id, nonce: offer.nonce) }
        for purchase in market.purchases.values where purchase.offer == offer.id && purchase.buyer == key.id {
            let secret = MarketCrypto.buyerSecret(of: key, group: group.membership.id, nonce: purchase.nonce)
            for claimID in purchase.claims {
                guard let claim = market.claims[claimID] else { continue }
                let candidate = MarketCrypto.unmask(claim.maskedKey, secret: secret, purchase: purchase.id)
                if MarketCrypto.hash(candidate) == offer.keyHash { return candidate }
            }
        }
        return nil
    }

    private func view(_ offer: MarketOffer, market: Market, ledger: Ledger?, in group: Group) -> OfferView {
        let purchases = market.purchases.values.filter { $0.offer == offer.id }
        let visible = purchases.filter { offer.seller == key.id || $0.buyer == key.id }.sorted { ($0.timeMs, $0.id.hex) < ($1.timeMs, $1.id.hex) }
        return OfferView(
            id: offer.id, group: group.membership.id, seller: offer.seller, title: offer.title, description: offer.description, tags: offer.tags,
            price: offer.price, name: offer.name, mediaType: offer.mediaType, size: offer.size, createdMs: offer.createdMs,
            withdrawn: offer.withdrawn != nil, sales: purchases.filter { $0.state == .claimed }.count,
            readable: contentKey(of: offer, market: market, in: group) != nil, purchases: visible.map { Self.view($0, ledger: ledger) })
    }

    static func view(_ purchase: MarketPurchase, ledger: Ledger?) -> PurchaseView {
        let state = switch ledger {
        case let ledger? where ledger.refused[purchase.id] != nil: "refused"
        case let ledger? where ledger.waiting.contains(purchase.id): "waiting"
        default: purchase.state.rawValue
        }
        return PurchaseView(
            id: purchase.id, offer: purchase.offer, buyer: purchase.buyer, seller: purchase.seller, price: purchase.price, state: state,
            deadlineMs: purchase.deadlineMs, createdMs: purchase.timeMs, claim: purchase.claims.first, voided: purchase.voided,
            refund: purchase.refund)
    }
}
