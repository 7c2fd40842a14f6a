import Foundation
import Glibc

/// Loopback TCP round trip: a 64-byte ping echoed by a thread over a connected socket pair
/// (TCP_NODELAY on both ends), blocking reads and writes.
struct LoopbackRTT {
    var samples: Int
    var p50: Double
    var p99: Double

    struct Failure: Error, CustomStringConvertible { var description: String }

    static func readFully(_ fd: Int32, _ buf: UnsafeMutableRawPointer, _ n: Int) -> Bool {
        var got = 0
        while got < n {
            let r = read(fd, buf + got, n - got)
            if r <= 0 { return false }
            got += r
        }
        return true
    }

    static func measure(budget: Double, maxSamples: Int = 200_000, size: Int = 64) throws -> LoopbackRTT {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw Failure(description: "socket failed") }
        defer { close(listener) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(listener, sa, len) == 0 && getsockname(listener, sa, &len) == 0 && listen(listener, 1) == 0
            }
        }
        guard ok else { throw Failure(description: "bind/listen failed: \(String(cString: strerror(errno)))") }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        let connected = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, len) == 0 }
        }
        guard connected else { throw Failure(description: "connect failed: \(String(cString: strerror(errno)))") }
        let server = accept(listener, nil, nil)
        guard server >= 0 else { throw Failure(description: "accept failed") }
        var one: Int32 = 1
        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(server, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))

        let echo = Thread {
            let buf = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
            defer { buf.deallocate(); close(server) }
            while readFully(server, buf, size) {
                if write(server, buf, size) != size { return }
            }
        }
        echo.start()

        let buf = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buf.deallocate() }
        memset(buf, 0x11, size)
        var latencies: [UInt64] = []
        latencies.reserveCapacity(maxSamples)
        let end = monotonicNanos() + UInt64(budget * 1e9)
        while latencies.count < maxSamples {
            let t0 = monotonicNanos()
            if t0 >= end { break }
            guard write(client, buf, size) == size, readFully(client, buf, size) else {
                throw Failure(description: "ping-pong failed")
            }
            latencies.append(monotonicNanos() - t0)
        }
        shutdown(client, Int32(SHUT_WR))
        latencies.sort()
        func pct(_ p: Double) -> Double { Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1e9 }
        return LoopbackRTT(samples: latencies.count, p50: pct(0.5), p99: pct(0.99))
    }
}
