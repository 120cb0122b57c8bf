#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import VGPUCore

/// The Prometheus endpoint: `GET /metrics` on one loopback address by default. HTTP/1.1 through NIOHTTP1; a
/// scrape only renders the registry (the host gauges are refreshed in the background), so it never blocks on
/// sysfs or libvirt.
struct MetricsHTTPServer: Service, CustomStringConvertible {
    var description: String { "MetricsHTTPServer" }
    let channel: Channel
    let logger: Logger

    /// Binds at once, so a taken port is refused before vgpud starts anything.
    static func bind(host: String, port: Int, render: @escaping @Sendable () -> String, logger: Logger) async throws -> MetricsHTTPServer {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: render))
                }
            }
            .childChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
        do {
            let channel = try await bootstrap.bind(host: host, port: port).get()
            return MetricsHTTPServer(channel: channel, logger: logger)
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw VGPUError(.busy, "could not listen on \(host):\(port): the address is in use",
                            fix: "stop what listens there (ss -ltnp 'sport = :\(port)'), or pass --listen ADDRESS:PORT")
        } catch {
            throw VGPUError(.host, "could not listen on \(host):\(port): \(error)", fix: "pass --listen ADDRESS:PORT with an address of this host")
        }
    }

    func run() async throws {
        logger.info("metrics at http://\(Self.describe(channel.localAddress))/metrics")
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: { [channel] in
            channel.close(promise: nil)
        }
    }

    static func describe(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return "?" }
        return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}

final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let render: @Sendable () -> String
    private var request: HTTPRequestHead?

    init(render: @escaping @Sendable () -> String) { self.render = render }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let (status, contentType, body): (HTTPResponseStatus, String, String)
        switch (head.method, path) {
        case (.GET, "/metrics"), (.HEAD, "/metrics"):
            (status, contentType, body) = (.ok, "text/plain; version=0.0.4; charset=utf-8", render())
        case (.GET, "/"), (.HEAD, "/"):
            (status, contentType, body) = (.ok, "text/plain; charset=utf-8", "vgpud: Prometheus metrics at /metrics\n")
        case (.GET, _), (.HEAD, _):
            (status, contentType, body) = (.notFound, "text/plain; charset=utf-8", "not found: the metrics are at /metrics\n")
        default:
            (status, contentType, body) = (.methodNotAllowed, "text/plain; charset=utf-8", "only GET and HEAD\n")
        }
        let keepAlive = head.isKeepAlive
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        if status == .methodNotAllowed { headers.add(name: "Allow", value: "GET, HEAD") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
