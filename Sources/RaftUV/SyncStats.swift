/// How long this node's log syncs (fsyncs) take: a count, a total and a histogram with
/// Prometheus-style cumulative buckets. Loop thread writes; any thread reads a copy.
public struct SyncStats: Equatable, Sendable {
    /// Upper bounds of the histogram buckets, in microseconds (the last bucket, +Inf, is `count`).
    public static let bucketBoundsMicros: [Int] = [50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000,
                                                     50_000, 100_000, 250_000, 1_000_000]
    public var count = 0
    public var totalMicros = 0
    public var failures = 0
    /// Stretches of log space zeroed ahead of the records (FileLog's ZeroFill) and their bytes.
    public var zeroFills = 0
    public var zeroFillBytes = 0
    /// Syncs that took at most the bound of the same position (not cumulative).
    public var perBucket = [Int](repeating: 0, count: SyncStats.bucketBoundsMicros.count)

    public init() {}

    mutating func record(micros: Int) {
        count += 1
        totalMicros += micros
        if let i = Self.bucketBoundsMicros.firstIndex(where: { micros <= $0 }) { perBucket[i] += 1 }
    }

    mutating func recordZeroFill(bytes: Int) {
        zeroFills += 1
        zeroFillBytes += bytes
    }

    /// Cumulative counts per bound, as the text format wants them.
    public var cumulative: [Int] {
        var sum = 0
        return perBucket.map { sum += $0; return sum }
    }
}
