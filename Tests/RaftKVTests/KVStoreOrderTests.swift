import Testing
@testable import RaftKV

@Suite struct KVStoreOrderTests {
    /// sortedEntries (snapshots) is byte order, for keys that tie on their first 16 bytes,
    /// are prefixes of each other, hold zeros or 0xff, or are empty.
    @Test func sortedEntriesIsByteOrder() {
        var rng = SplitMix(seed: 5)
        let store = KVStore()
        var keys = Set<[UInt8]>()
        let stems: [[UInt8]] = [[], [0], [0, 0], [255], Array("key:000000012345".utf8), Array("key:00000001234".utf8),
                                Array("key:000000012345xyz".utf8), Array(repeating: 255, count: 16)]
        for s in stems { keys.insert(s) }
        for _ in 0..<3000 {
            var k = stems[Int(rng.next() % UInt64(stems.count))]
            for _ in 0..<Int(rng.next() % 6) { k.append([0, 1, 127, 128, 255][Int(rng.next() % 5)]) }
            keys.insert(k)
        }
        for k in keys { store.add(k, .string([1])) }
        let got = store.sortedEntries().map(\.key)
        #expect(got == keys.sorted { kvLess($0, $1) })
        #expect(got.count == keys.count)
    }
}
