import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// A TCP server on a host's loop for the host's own clients (raftengine-node serves the Redis
/// protocol with it). Everything happens on the loop thread: `onConnect` hands over each
/// `ClientStream`, whose `onData`/`onClose` the caller sets.
public final class StreamServer {
    private let loop: UVLoop
    private var server: UnsafeMutablePointer<uv_tcp_t>?
    private var clients: [ObjectIdentifier: ClientStream] = [:]
    public private(set) var port: UInt16 = 0
    let onConnect: (ClientStream) -> Void

    /// Listens on `address` ("host:port"). `onConnect` runs on the loop thread.
    public init(host: UVHost, address: String, onConnect: @escaping (ClientStream) -> Void) throws {
        loop = host.loop
        self.onConnect = onConnect
        let result: Result<Void, Error>? = loop.sync { [self] in
            do { try listen(address) } catch { return .failure(error) }
            return .success(())
        }
        guard let result else { throw StartError.hostStopped }
        try result.get()
    }

    private func listen(_ address: String) throws {
        guard let (h, p) = splitHostPort(address), var addr = socketAddress(host: h, port: p) else {
            throw StartError.invalidAddress(address)
        }
        let s = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        uv_tcp_init(loop.loop, s)
        s.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        var rc = withUnsafePointer(to: &addr) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_bind(s, $0, 0) } }
        if rc == 0 {
            rc = uv_listen(UnsafeMutableRawPointer(s).assumingMemoryBound(to: uv_stream_t.self), 128) { server, status in
                guard status == 0, let server, let data = server.pointee.data else { return }
                Unmanaged<StreamServer>.fromOpaque(data).takeUnretainedValue().accept(server)
            }
        }
        guard rc == 0 else {
            uv_close(UnsafeMutableRawPointer(s).assumingMemoryBound(to: uv_handle_t.self)) { $0?.deallocate() }
            throw StartError.addressInUse("\(address): \(String(cString: uv_strerror(rc)))")
        }
        var name = sockaddr_storage()
        var len = Int32(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &name) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = uv_tcp_getsockname(s, $0, &len) } }
        port = withUnsafePointer(to: &name) { p in p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) } }
        server = s
    }

    private func accept(_ server: UnsafeMutablePointer<uv_stream_t>) {
        let conn = TCPConnection(loop: loop.loop, maxFrameSize: 0)
        guard uv_accept(server, conn.stream) == 0 else {
            conn.close()
            return
        }
        let client = ClientStream(conn: conn, loop: loop)
        client.peerAddress = Self.peerName(conn.handle)
        clients[ObjectIdentifier(client)] = client
        conn.onClose = { [weak self, weak client] _ in
            guard let self, let client else { return }
            self.clients[ObjectIdentifier(client)] = nil
            let cb = client.onClose
            client.onClose = nil
            client.onData = nil
            cb?()
        }
        onConnect(client)
        conn.startRawReading { [weak client] bytes in client?.onData?(bytes) }
    }

    static func peerName(_ handle: UnsafeMutablePointer<uv_tcp_t>) -> String {
        var storage = sockaddr_storage()
        var len = Int32(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getpeername(handle, $0, &len) }
        }
        guard rc == 0 else { return "" }
        var name = [CChar](repeating: 0, count: 64)
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: &storage) { p -> String in
            if family == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { a in
                    uv_ip6_name(a, &name, name.count)
                    return "[\(String(cString: name))]:\(UInt16(bigEndian: a.pointee.sin6_port))"
                }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { a in
                uv_ip4_name(a, &name, name.count)
                return "\(String(cString: name)):\(UInt16(bigEndian: a.pointee.sin_port))"
            }
        }
    }

    /// Closes the listener and every client (waits for the loop).
    public func close() {
        _ = loop.sync { [self] in
            for c in clients.values { c.close() }
            clients.removeAll()
            if let s = server {
                server = nil
                uv_close(UnsafeMutableRawPointer(s).assumingMemoryBound(to: uv_handle_t.self)) { $0?.deallocate() }
            }
        }
    }
}

/// One client connection of a `StreamServer` (loop thread only).
public final class ClientStream {
    let conn: TCPConnection
    /// Bytes as they arrive.
    public var onData: ((UnsafeBufferPointer<UInt8>) -> Void)?
    public var onClose: (() -> Void)?

    /// "host:port" of the client (empty if the socket could not tell).
    public internal(set) var peerAddress = ""

    private let loop: UVLoop

    init(conn: TCPConnection, loop: UVLoop) {
        self.conn = conn
        self.loop = loop
    }

    public func write(_ bytes: [UInt8]) {
        loop.assertOnLoopThread()
        conn.write(bytes)
    }

    public func close() {
        loop.assertOnLoopThread()
        conn.close()
    }

    /// Closes once what was written has been sent.
    public func closeAfterWrites() {
        loop.assertOnLoopThread()
        conn.closeAfterWrites()
    }
    public var isClosed: Bool { conn.isClosed }
}
