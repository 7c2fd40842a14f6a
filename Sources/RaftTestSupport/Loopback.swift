import Glibc

/// `n` distinct loopback TCP ports that were free a moment ago: each is bound to port 0 and
/// read back, and all are closed only after the last is taken, so no two are the same.
/// For tests and benchmarks that start real nodes; another process may still take one.
public func freeLoopbackPorts(_ n: Int) -> [UInt16] {
    var fds: [Int32] = []
    var ports: [UInt16] = []
    for _ in 0..<n {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                _ = bind(fd, $0, len)
                _ = getsockname(fd, $0, &len)
            }
        }
        ports.append(UInt16(bigEndian: addr.sin_port))
        fds.append(fd)
    }
    for fd in fds { close(fd) }
    return ports
}

/// A blocking TCP socket connected to 127.0.0.1:`port` (the caller closes it), for tests that
/// speak raw bytes to a node; -1 when the connection fails.
public func connectLoopback(port: UInt16) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = port.bigEndian
    let rc = withUnsafePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    if rc != 0 {
        close(fd)
        return -1
    }
    return fd
}
