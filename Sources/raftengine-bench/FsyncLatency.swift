import Glibc

/// This machine's own price of durability: 4 KiB appended to a file, then fdatasync, in a
/// loop. Appending (not rewriting one block) makes each sync also persist the new file size,
/// as a log's syncs do.
struct FsyncLatency {
    var samples: Int
    var p50: Double
    var p99: Double

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func measure(in path: String, budget: Duration, maxSamples: Int = 20_000) throws -> FsyncLatency {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(description: "open \(path): \(String(cString: strerror(errno)))") }
        defer {
            close(fd)
            unlink(path)
        }
        let block = [UInt8](repeating: 0xA5, count: 4096)
        let clock = ContinuousClock()
        var latencies: [Double] = []
        let start = clock.now
        while latencies.count < maxSamples && clock.now - start < budget {
            let t0 = clock.now
            let written = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(latencies.count * 4096)) }
            guard written == block.count, fdatasync(fd) == 0 else {
                throw Failure(description: "write or fdatasync \(path): \(String(cString: strerror(errno)))")
            }
            latencies.append((clock.now - t0).seconds)
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        return FsyncLatency(samples: latencies.count, p50: percentile(0.50), p99: percentile(0.99))
    }
}
