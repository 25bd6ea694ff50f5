import Foundation
import PlexusCore

/// A group's knowledge market over HTTP (`MarketService`).
extension NodeClient {
    public func offers(group: String, _ request: OfferListRequest) async throws(PlexusError) -> OfferList {
        try await send(.GET, "/v1/groups/\(Self.pathSegment(group))/offers", query: [
            "q": request.query, "withdrawn": request.includeWithdrawn ? "true" : nil, "limit": request.limit.map(String.init),
        ])
    }

    public func offer(_ offer: EntryID) async throws(PlexusError) -> OfferView {
        try await send(.GET, "/v1/offers/\(offer.hex)")
    }

    public func createOffer(group: String, _ request: OfferCreateRequest) async throws(PlexusError) -> OfferView {
        try await send(.POST, "/v1/groups/\(Self.pathSegment(group))/offers", body: request)
    }

    public func buy(_ offer: EntryID, _ request: BuyRequest) async throws(PlexusError) -> PurchaseView {
        try await send(.POST, "/v1/offers/\(offer.hex)/buy", body: request, timeout: .seconds(Int64(request.waitS ?? 0) + 30))
    }

    public func withdraw(_ offer: EntryID) async throws(PlexusError) -> OfferView {
        try await send(.POST, "/v1/offers/\(offer.hex)/withdraw")
    }

    public func goods(_ offer: EntryID) async throws(PlexusError) -> GoodsView {
        try await send(.GET, "/v1/offers/\(offer.hex)/goods")
    }
}
