import Foundation
import Testing
import RaftTestSupport

/// The test proxy itself, on raw sockets: each mode, a switch at run time, a clean stop.
@Suite struct FaultProxyTests {
    @Test func forwardsHoldsResetsAndStops() throws {
        let target = try #require(RawListener())
        defer { close(target.fd) }
        let proxy = try FaultProxy(targetPort: target.port)
        defer { proxy.stop() }

        let client = connectLoopback(port: proxy.port)
        try #require(client >= 0)
        defer { close(client) }
        let server = try #require(target.accept(timeoutMs: 10_000))
        defer { close(server) }
        send(client, "ping")
        #expect(receive(server, count: 4) == "ping")
        send(server, "pong")
        #expect(receive(client, count: 4) == "pong")

        // Blackhole holds the bytes (nothing shows up meanwhile), healing delivers them in order.
        proxy.mode = .blackhole
        send(client, "held")
        #expect(receive(server, count: 4, timeoutMs: 200) == nil)
        proxy.mode = .forward
        #expect(receive(server, count: 4) == "held")

        // Reset ends both sides of the open connection; a new one is reset too.
        proxy.mode = .reset(after: .milliseconds(10))
        #expect(receive(client, count: 1) == "")
        #expect(receive(server, count: 1) == "")
        #expect(waitUntil { proxy.counts.resets >= 1 })
        let second = connectLoopback(port: proxy.port)
        try #require(second >= 0)
        defer { close(second) }
        let secondServer = try #require(target.accept(timeoutMs: 10_000))
        defer { close(secondServer) }
        #expect(receive(second, count: 1) == "")
        #expect(waitUntil { proxy.counts.resets >= 2 })
        #expect(proxy.counts.accepted == 2)

        // Stopped, the proxy no longer listens.
        proxy.stop()
        proxy.stop()
        #expect(connectLoopback(port: proxy.port) == -1)
    }
}

/// A blocking loopback listener on a free port.
private struct RawListener {
    let fd: Int32
    let port: UInt16

    init?() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else { close(fd); return nil }
        self.fd = fd
        port = UInt16(bigEndian: addr.sin_port)
    }

    func accept(timeoutMs: Int32) -> Int32? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeoutMs) == 1 else { return nil }
        let s = Glibc.accept(fd, nil, nil)
        return s >= 0 ? s : nil
    }
}

private func send(_ fd: Int32, _ text: String) {
    _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
}

/// `count` bytes as text, or fewer (down to "") if the connection ends (EOF or reset) first;
/// nil when nothing more comes within `timeoutMs`.
private func receive(_ fd: Int32, count: Int, timeoutMs: Int32 = 10_000) -> String? {
    var out: [UInt8] = []
    while out.count < count {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeoutMs) == 1 else { return nil }
        var buf = [UInt8](repeating: 0, count: count - out.count)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { break }
        out += buf[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}
