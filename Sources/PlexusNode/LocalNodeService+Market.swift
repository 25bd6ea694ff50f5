import PlexusCore

/// A group's knowledge market (`MarketService`) of `LocalNodeService`.
extension LocalNodeService {
    public func offers(group: String, _ request: OfferListRequest) async throws(PlexusError) -> OfferList {
        await node.groups.load()
        return try await node.groups.offers(group, request)
    }

    public func offer(_ offer: EntryID) async throws(PlexusError) -> OfferView {
        await node.groups.load()
        return try await node.groups.offer(offer)
    }

    public func createOffer(group: String, _ request: OfferCreateRequest) async throws(PlexusError) -> OfferView {
        await node.groups.load()
        return try await node.groups.createOffer(group, request)
    }

    public func buy(_ offer: EntryID, _ request: BuyRequest) async throws(PlexusError) -> PurchaseView {
        await node.groups.load()
        return try await node.groups.buy(offer, request)
    }

    public func withdraw(_ offer: EntryID) async throws(PlexusError) -> OfferView {
        await node.groups.load()
        return try await node.groups.withdraw(offer)
    }

    public func goods(_ offer: EntryID) async throws(PlexusError) -> GoodsView {
        await node.groups.load()
        return try await node.groups.goods(offer)
    }
}
