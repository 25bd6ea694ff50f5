import Foundation
import PlexusCore
import PlexusProtocol

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
        guard let plain = request.blob else { return try await node.groups.createOffer(group, request) }
        // Goods of any size: the blob, sealed under the offer's content key as a blob of
        // its own; the offer carries its reference.
        _ = try request.validated()
        let held = try await node.heldBlob(plain)
        let sealing = try await node.groups.offerSealing(group)
        let sealed = try await node.putBlob(
            try await node.blobContents(plain, group: nil), length: held.size, pin: true,
            sealer: BlobCipher.Sealer(key: sealing.key, context: Data(), domain: sealing.domain))
        if !held.pinned { _ = try await node.store.blobs.remove(plain) }
        var reference: [String: JSONValue] = ["id": .string(sealed.id.hex), "size": .integer(Int64(clamping: held.size))]
        if let name = request.name { reference["name"] = .string(name) }
        if let mediaType = request.mediaType { reference["media_type"] = .string(mediaType) }
        let goods = JSONValue.object(["blob": .object(reference)]).canonicalData()
        return try await node.groups.createOffer(group, request, prepared: (sealing.nonce, sealing.key, goods))
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
