import Hummingbird
import NIOCore

/// The request context of the API: Hummingbird's core context plus the connection's
/// channel, so a response that streams (server-sent events) can close a connection whose
/// client stopped reading.
struct APIRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The client connection this request arrived on.
    let channel: any Channel
    /// The web panel session the request carries, once `PanelGuard` checked it.
    var panelSession: PanelSessions.Session?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
