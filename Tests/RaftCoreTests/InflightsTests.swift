import Testing
@testable import RaftCore

/// The in-flight window by itself (etcd's inflights tests): a ring buffer that frees from the
/// front, wraps, grows, and is full by count or by bytes.
@Suite struct InflightsTests {
    typealias Flight = Inflights.Flight

    static func window(_ sent: [(LogIndex, UInt64)]) -> Inflights {
        var w = Inflights()
        for (i, b) in sent { w.add(index: i, bytes: b) }
        return w
    }

    struct FreeRow: CustomTestStringConvertible, Sendable {
        var sent: [LogIndex]
        var freeThrough: LogIndex
        var left: [LogIndex]
        var testDescription: String { "\(sent) free through \(freeThrough) -> \(left)" }
    }

    static let freeRows: [FreeRow] = [
        FreeRow(sent: [], freeThrough: 5, left: []),
        FreeRow(sent: [3, 6, 9], freeThrough: 2, left: [3, 6, 9]),
        FreeRow(sent: [3, 6, 9], freeThrough: 3, left: [6, 9]),
        FreeRow(sent: [3, 6, 9], freeThrough: 5, left: [6, 9]),
        FreeRow(sent: [3, 6, 9], freeThrough: 8, left: [9]),
        FreeRow(sent: [3, 6, 9], freeThrough: 9, left: []),
        FreeRow(sent: [3, 6, 9], freeThrough: 100, left: []),
        FreeRow(sent: Array(1...10), freeThrough: 7, left: [8, 9, 10]),
    ]

    @Test(arguments: freeRows)
    func freeingReleasesEveryAppendAtOrBelow(_ row: FreeRow) {
        var w = Self.window(row.sent.map { ($0, $0 * 10) })
        w.free(through: row.freeThrough)
        #expect(w.flights.map(\.index) == row.left)
        #expect(w.count == row.left.count)
        #expect(w.bytes == row.left.reduce(0) { $0 + $1 * 10 })
    }

    struct FullRow: CustomTestStringConvertible, Sendable {
        var bytes: [UInt64]
        var maxCount: Int
        var maxBytes: UInt64
        var full: Bool
        var testDescription: String { "\(bytes) cap \(maxCount)/\(maxBytes)B -> \(full ? "full" : "room")" }
    }

    static let fullRows: [FullRow] = [
        FullRow(bytes: [], maxCount: 1, maxBytes: 1, full: false),
        FullRow(bytes: [0], maxCount: 1, maxBytes: 100, full: true),
        FullRow(bytes: [10, 10], maxCount: 3, maxBytes: 100, full: false),
        FullRow(bytes: [10, 10, 10], maxCount: 3, maxBytes: 100, full: true),
        // The byte cap is soft: full once reached, so the append that crossed it went.
        FullRow(bytes: [60], maxCount: 64, maxBytes: 100, full: false),
        FullRow(bytes: [60, 60], maxCount: 64, maxBytes: 100, full: true),
        FullRow(bytes: [50, 50], maxCount: 64, maxBytes: 100, full: true),
        FullRow(bytes: [50, 49], maxCount: 64, maxBytes: 100, full: false),
        // One append larger than the whole cap still goes when the window is empty.
        FullRow(bytes: [1_000], maxCount: 64, maxBytes: 100, full: true),
        // Empty entries (a probe's catch-up of config or no-op entries) count only by number.
        FullRow(bytes: [0, 0, 0], maxCount: 4, maxBytes: 1, full: false),
    ]

    @Test(arguments: fullRows)
    func fullByCountOrBytes(_ row: FullRow) {
        let w = Self.window(row.bytes.enumerated().map { (LogIndex($0.offset + 1), $0.element) })
        #expect(w.isFull(maxCount: row.maxCount, maxBytes: row.maxBytes) == row.full)
    }

    /// Adding and freeing around the ring many times keeps order, count and bytes exact, also
    /// across growth, against a plain array doing the same.
    @Test func theRingWrapsAndGrowsLikeAQueue() {
        var rng = SplitMix64(seed: 18)
        var w = Inflights()
        var model: [Flight] = []
        var next: LogIndex = 1
        for _ in 0..<5_000 {
            if rng.next() % 3 != 0 && model.count < 40 {
                next += rng.next() % 5
                let f = Flight(index: next, bytes: rng.next() % 1_000)
                w.add(index: f.index, bytes: f.bytes)
                model.append(f)
            } else if let last = model.last {
                let through = model[0].index + rng.next() % (last.index - model[0].index + 1)
                w.free(through: through)
                model.removeAll { $0.index <= through }
            }
            #expect(w.flights == model)
            #expect(w.count == model.count)
            #expect(w.bytes == model.reduce(0) { $0 + $1.bytes })
        }
    }

    @Test func resetEmptiesTheWindow() {
        var w = Self.window([(1, 5), (2, 5), (3, 5)])
        w.reset()
        #expect(w.isEmpty && w.count == 0 && w.bytes == 0 && w.flights.isEmpty)
        w.add(index: 9, bytes: 1)
        #expect(w.flights == [Flight(index: 9, bytes: 1)])
    }
}
