/// The live keys' nodes in key byte order, kept incrementally for snapshots. A snapshot lists
/// every key in byte order; sorting the whole keyspace each time cost about half of a 100,000-key
/// snapshot. Here the order stays between snapshots: keys added are sorted alone (few, when
/// most writes replace; a chunk at a time as they come otherwise) and merged in, and removed
/// ones are filtered out.
///
/// Nodes are KVSlotIndex's (one per live key, reused after a removal). Invariant after
/// `ordered(keys:)`: `sorted` holds exactly the nodes in state `.placed`, once each, in the
/// byte order of their keys, each with its key's first 16 bytes (`KVSortRecord`), so finding
/// where a new key goes compares those and reads a key's bytes only on a tie: the keys lie
/// all over the heap, and reading one per comparison made folding cache-miss bound. In between, a node leaves `.placed` as soon as its key is removed,
/// so a stale position (a removed node, or one since reused for another key) is never trusted.
struct KVKeyOrder {
    private enum State: UInt8 { case free = 0, unplaced = 1, placed = 2 }

    private var state: [State] = []
    private var sorted: [KVSortRecord] = []
    /// Nodes added since the last ordering (may repeat, or have been removed since).
    private var unplaced: [Int32] = []
    /// Positions in `sorted` whose node has left `.placed` since the last ordering.
    private var stale = 0

    /// Bookkeeping that `ordered` has not folded in yet (tests).
    var pendingChanges: Int { unplaced.count + stale }

    mutating func added(_ node: Int32) {
        let n = Int(node)
        if n >= state.count { state.append(contentsOf: repeatElement(.free, count: n + 1 - state.count)) }
        if state[n] == .placed { stale += 1 }
        state[n] = .unplaced
        unplaced.append(node)
    }

    mutating func removed(_ node: Int32) {
        let n = Int(node)
        if state[n] == .placed { stale += 1 }
        state[n] = .free
    }

    /// Keys added since the last ordering are folded in this many at a time as they come
    /// (`shouldFold`), so even the first snapshot after start or a bulk load sorts little.
    static let foldChunk = 4096

    /// Whether to fold the changes in now (the store asks after each add): a chunk of added
    /// keys is waiting, or removals have left many stale positions (bounding the memory they
    /// keep when snapshots are rare or off).
    func shouldFold(liveCount: Int) -> Bool {
        unplaced.count >= Self.foldChunk || stale > Swift.max(1 << 16, 2 * liveCount)
    }

    /// Forgets everything (the store was emptied).
    mutating func removeAll() {
        state = []
        sorted = []
        unplaced = []
        stale = 0
    }

    /// Takes `nodes`, live and already in the order of their `keys` (a restored snapshot's).
    mutating func load(inKeyOrder nodes: [Int32], keys: [[UInt8]]) {
        removeAll()
        sorted.reserveCapacity(nodes.count)
        for n in nodes {
            let i = Int(n)
            if i >= state.count { state.append(contentsOf: repeatElement(.free, count: i + 1 - state.count)) }
            state[i] = .placed
            sorted.append(KVSortRecord(keys[i], n))
        }
    }

    /// Every live node (`index` of each record) in the byte order of `keys[node]`.
    mutating func ordered(keys: [[UInt8]]) -> [KVSortRecord] {
        guard !unplaced.isEmpty || stale > 0 else { return sorted }
        var old: [KVSortRecord] = []
        swap(&old, &sorted)
        if stale > 0 { old.removeAll { state[Int($0.index)] != .placed } }
        let new = Self.sortedUnique(unplaced.filter { state[Int($0)] == .unplaced }, keys)
        for r in new { state[Int(r.index)] = .placed }
        unplaced.removeAll(keepingCapacity: unplaced.count < 1 << 16)
        stale = 0
        sorted = new.isEmpty ? old : old.isEmpty ? new : Self.merge(old, new, keys)
        return sorted
    }

    /// Nodes sorted by key, each once (a node added twice since the last ordering is listed
    /// twice in `unplaced`; distinct live nodes never share a key).
    private static func sortedUnique(_ nodes: [Int32], _ keys: [[UInt8]]) -> [KVSortRecord] {
        var records = nodes.map { KVSortRecord(keys[Int($0)], $0) }
        records.sort { less($0, $1, keys) }
        var out: [KVSortRecord] = []
        out.reserveCapacity(records.count)
        for r in records where out.last?.index != r.index { out.append(r) }
        return out
    }

    /// Key order by the records' 16 bytes, the whole keys on a tie (the same node: equal).
    @inline(__always)
    private static func less(_ a: KVSortRecord, _ b: KVSortRecord, _ keys: [[UInt8]]) -> Bool {
        if a.hi != b.hi { return a.hi < b.hi }
        if a.lo != b.lo { return a.lo < b.lo }
        return a.index != b.index && kvLess(keys[Int(a.index)], keys[Int(b.index)])
    }

    /// Both lists sorted, no key in both: each of `new` goes in at its position in `old`,
    /// found by galloping from the previous one (few comparisons when `new` is spread thinly),
    /// and the runs of `old` between them are copied whole.
    private static func merge(_ old: [KVSortRecord], _ new: [KVSortRecord], _ keys: [[UInt8]]) -> [KVSortRecord] {
        var out: [KVSortRecord] = []
        out.reserveCapacity(old.count + new.count)
        var lo = 0
        for x in new {
            // The first position at or after lo whose key is above x's: bracket it, then bisect.
            var a = lo, step = 1
            while a + step <= old.count && less(old[a + step - 1], x, keys) {
                a += step
                step <<= 1
            }
            var b = Swift.min(a + step - 1, old.count)
            while a < b {
                let m = (a + b) >> 1
                if less(old[m], x, keys) { a = m + 1 } else { b = m }
            }
            if a > lo { out.append(contentsOf: old[lo..<a]) }
            out.append(x)
            lo = a
        }
        if lo < old.count { out.append(contentsOf: old[lo...]) }
        return out
    }
}
