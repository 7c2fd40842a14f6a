import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// One TCP stream on the loop: reads frames, writes byte batches. The handle keeps a strong
/// reference to its connection until libuv reports it closed, so callbacks never see a freed
/// object.
final class TCPConnection {
    let handle: UnsafeMutablePointer<uv_tcp_t>
    private(set) var reader: FrameReader
    private(set) var isClosed = false
    /// Called with each complete frame; throwing closes the connection.
    var onFrame: (([UInt8]) throws -> Void)?
    /// Called once when the stream ends, fails or is closed.
    var onClose: ((TCPConnection) -> Void)?
    var onTooLarge: (() -> Void)?

    init(loop: UnsafeMutablePointer<uv_loop_t>, maxFrameSize: Int) {
        handle = .allocate(capacity: 1)
        uv_tcp_init(loop, handle)
        reader = FrameReader(maxFrameSize: maxFrameSize)
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    var stream: UnsafeMutablePointer<uv_stream_t> { UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self) }
    var uvHandle: UnsafeMutablePointer<uv_handle_t> { UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self) }

    static func from(_ p: UnsafeMutableRawPointer?) -> TCPConnection? {
        guard let p else { return nil }
        return Unmanaged<TCPConnection>.fromOpaque(p).takeUnretainedValue()
    }

    func startReading() {
        uv_tcp_nodelay(handle, 1)
        uv_read_start(stream, { _, suggested, buf in
            buf?.pointee.base = malloc(suggested)?.assumingMemoryBound(to: CChar.self)
            buf?.pointee.len = buf?.pointee.base == nil ? 0 : suggested
        }, { stream, nread, buf in
            defer { free(buf?.pointee.base) }
            guard let s = stream, let conn = TCPConnection.from(s.pointee.data) else { return }
            if nread < 0 {
                conn.close()
                return
            }
            guard nread > 0, let base = buf?.pointee.base else { return }
            conn.received(UnsafeBufferPointer(start: UnsafeRawPointer(base).assumingMemoryBound(to: UInt8.self), count: nread))
        })
    }

    /// When set, incoming bytes go here instead of the frame reader (client protocols).
    var rawReader: ((UnsafeBufferPointer<UInt8>) -> Void)?

    func startRawReading(_ body: @escaping (UnsafeBufferPointer<UInt8>) -> Void) {
        rawReader = body
        startReading()
    }

    private func received(_ bytes: UnsafeBufferPointer<UInt8>) {
        if let raw = rawReader {
            raw(bytes)
            return
        }
        reader.feed(bytes)
        do {
            while !isClosed, let frame = try reader.next() {
                try onFrame?(frame)
            }
        } catch is FrameReader.Failure {
            onTooLarge?()
            close()
        } catch {
            close()
        }
    }

    /// Peer connections must notice a dead path: with TCP_USER_TIMEOUT, data left unacknowledged
    /// that long (a partition that drops packets) fails the connection, so the link reconnects
    /// instead of waiting out the kernel's retransmission backoff, which grows with the fault's
    /// length (seen in the partition tests: 11 s to recover from a 15 s isolation). Keepalive
    /// probes reap an idle inbound connection whose peer vanished (its RST was lost).
    func setPeerTimeouts(userTimeoutMs: UInt32) {
        var fd: uv_os_fd_t = -1
        guard uv_fileno(uvHandle, &fd) == 0 else { return }
        var timeout = userTimeoutMs
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, &timeout, socklen_t(MemoryLayout<UInt32>.size))
        let idle = max(1, userTimeoutMs / 1000)
        uv_tcp_keepalive(handle, 1, idle)
        var interval: Int32 = Int32(idle), count: Int32 = 3
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, &interval, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, &count, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Queues `bytes` for writing (copied; one uv_write per call, so callers batch).
    func write(_ bytes: [UInt8]) {
        guard !isClosed, !bytes.isEmpty else { return }
        // Straight to the socket when it takes it all (the usual case: a frame or a reply
        // into an empty send buffer): no request, no copy, no completion callback, and no
        // epoll_ctl, which libuv issues when a queued write's completion stops the POLLOUT
        // watch (four per commit at 1 in flight before). uv_try_write refuses (EAGAIN) while
        // earlier writes are queued, so order is kept; what it leaves goes the queued way.
        let sent: Int = bytes.withUnsafeBufferPointer { p in
            var buf = uv_buf_init(UnsafeMutableRawPointer(mutating: p.baseAddress!).assumingMemoryBound(to: CChar.self),
                                  UInt32(p.count))
            return Int(uv_try_write(stream, &buf, 1))
        }
        if sent == bytes.count { return }
        if sent < 0 && sent != Int(UV_EAGAIN.rawValue) {
            close()
            return
        }
        let start = max(0, sent)
        let count = bytes.count - start
        let req = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        let data = UnsafeMutablePointer<UInt8>.allocate(capacity: count)
        bytes.withUnsafeBufferPointer { data.initialize(from: $0.baseAddress! + start, count: count) }
        req.pointee.data = UnsafeMutableRawPointer(data)
        var buf = uv_buf_init(UnsafeMutableRawPointer(data).assumingMemoryBound(to: CChar.self), UInt32(count))
        let rc = uv_write(req, stream, &buf, 1) { req, status in
            guard let req else { return }
            req.pointee.data?.deallocate()
            let stream = req.pointee.handle
            req.deallocate()
            if status < 0, let s = stream, let conn = TCPConnection.from(s.pointee.data) { conn.close() }
        }
        if rc != 0 {
            data.deallocate()
            req.deallocate()
            close()
        }
    }

    private var finishing = false

    /// Closes once every queued write has left: uv_shutdown waits for them, where uv_close
    /// alone would cancel a write still pending (a long reply, then QUIT). Reads stop now.
    func closeAfterWrites() {
        guard !isClosed, !finishing else { return }
        finishing = true
        onFrame = nil
        rawReader = nil
        uv_read_stop(stream)
        let req = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
        let rc = uv_shutdown(req, stream) { req, _ in
            guard let req else { return }
            let handle = req.pointee.handle
            req.deallocate()
            if let handle, let conn = TCPConnection.from(handle.pointee.data) { conn.close() }
        }
        if rc != 0 {
            req.deallocate()
            close()
        }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        let cb = onClose
        onClose = nil
        onFrame = nil
        rawReader = nil
        cb?(self)
        if uv_is_closing(uvHandle) == 0 {
            uv_close(uvHandle) { h in
                guard let h else { return }
                if let data = h.pointee.data { Unmanaged<TCPConnection>.fromOpaque(data).release() }
                h.deallocate()
            }
        }
    }
}

/// A libuv sockaddr for "host:port" text.
func socketAddress(host: String, port: UInt16) -> sockaddr_storage? {
    var storage = sockaddr_storage()
    let ok: Bool = withUnsafeMutablePointer(to: &storage) { p in
        if host.contains(":") {
            return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { uv_ip6_addr(host, Int32(port), $0) == 0 }
        }
        return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { uv_ip4_addr(host, Int32(port), $0) == 0 }
    }
    return ok ? storage : nil
}

/// Splits "host:port" / "[v6]:port" (see `HostPort`).
func splitHostPort(_ text: String) -> (String, UInt16)? {
    HostPort(text).map { ($0.host, $0.port) }
}
