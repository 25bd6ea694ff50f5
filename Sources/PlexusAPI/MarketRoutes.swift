import Foundation
import Hummingbird
import PlexusCore
import PlexusNode

/// A group's knowledge market: offers, purchases and the goods.
struct MarketRoutes: APIRouteCollection {
    let service: LocalNodeService

    func register(on router: Router<APIRequestContext>) {
        router.get("/v1/groups/{group}/offers") { request, context in
            let reader = QueryReader(request)
            let list = OfferListRequest(query: reader.string("q"), includeWithdrawn: try reader.bool("withdrawn") ?? false, limit: try reader.int("limit"))
            return EnvelopeResponse.success(try await service.offers(group: context.pathParameter("group"), list))
        }
        router.post("/v1/groups/{group}/offers") { request, context in
            // The goods travel base64 in the body: 40 KiB of goods and the offer's words fit.
            let body: OfferCreateRequest = try await TaskRoutes.decode(
                request, limit: 96 * 1024, keys: ["title", "description", "tags", "price", "name", "media_type", "content", "blob"])
            return EnvelopeResponse.success(try await service.createOffer(group: context.pathParameter("group"), body), status: .created)
        }
        router.get("/v1/offers/{offer}") { _, context in
            EnvelopeResponse.success(try await service.offer(try EntryID.parse(context.pathParameter("offer"))))
        }
        router.post("/v1/offers/{offer}/buy") { request, context in
            let offer = try EntryID.parse(context.pathParameter("offer"))
            let body: BuyRequest = try await TaskRoutes.decode(request, limit: 16 * 1024, keys: ["deadline_s", "wait_s"])
            return EnvelopeResponse.success(try await service.buy(offer, body), status: .created)
        }
        router.post("/v1/offers/{offer}/withdraw") { _, context in
            EnvelopeResponse.success(try await service.withdraw(try EntryID.parse(context.pathParameter("offer"))))
        }
        router.get("/v1/offers/{offer}/goods") { _, context in
            EnvelopeResponse.success(try await service.goods(try EntryID.parse(context.pathParameter("offer"))))
        }
    }
}
