/// Keys grouped by their Redis Cluster slot: a doubly linked chain per slot over flat arrays,
/// so adding or removing a key is O(1) and costs one CRC16. It serves SCAN (the cursor is a
/// slot number: every key lives in one slot for good, so a scan sees each key present
/// throughout exactly once, on any replica and across leader changes), CLUSTER
/// COUNTKEYSINSLOT and GETKEYSINSLOT.
struct KVSlotIndex {
    private(set) var counts = [Int32](repeating: 0, count: KVKeySlot.count)
    private var heads = [Int32](repeating: -1, count: KVKeySlot.count)
    private var keys: [[UInt8]] = []
    private var next: [Int32] = []
    private var prev: [Int32] = []
    private var slotOf: [UInt16] = []
    private var free: [Int32] = []

    /// Links key into its slot's chain; returns its node.
    mutating func insert(_ key: [UInt8]) -> Int32 {
        let slot = KVKeySlot.slot(key)
        let node: Int32
        if let f = free.popLast() {
            node = f
            keys[Int(f)] = key
            slotOf[Int(f)] = slot
        } else {
            node = Int32(keys.count)
            keys.append(key)
            next.append(-1)
            prev.append(-1)
            slotOf.append(slot)
        }
        let h = heads[Int(slot)]
        next[Int(node)] = h
        prev[Int(node)] = -1
        if h >= 0 { prev[Int(h)] = node }
        heads[Int(slot)] = node
        counts[Int(slot)] += 1
        return node
    }

    mutating func remove(_ node: Int32) {
        let n = Int(node)
        let slot = Int(slotOf[n])
        let p = prev[n], x = next[n]
        if p >= 0 { next[Int(p)] = x } else { heads[slot] = x }
        if x >= 0 { prev[Int(x)] = p }
        keys[n] = []
        counts[slot] -= 1
        free.append(node)
    }

    func keys(inSlot slot: Int) -> [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(Int(counts[slot]))
        var n = heads[slot]
        while n >= 0 {
            out.append(keys[Int(n)])
            n = next[Int(n)]
        }
        return out
    }
}

/// Deadlines in (deadline, key) order: a binary min-heap with lazy deletion. A key whose
/// deadline changes gets a new element; stale elements are skipped when popped (their deadline
/// no longer matches the key's) and dropped in bulk when they outnumber the live ones.
struct KVExpiryHeap {
    struct Element {
        var deadline: UInt64
        var key: [UInt8]

        @inline(__always)
        static func < (a: Element, b: Element) -> Bool {
            a.deadline != b.deadline ? a.deadline < b.deadline : kvLess(a.key, b.key)
        }
    }

    private(set) var elements: [Element] = []

    var count: Int { elements.count }
    var min: Element? { elements.first }

    mutating func push(_ e: Element) {
        elements.append(e)
        var i = elements.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard elements[i] < elements[parent] else { break }
            elements.swapAt(i, parent)
            i = parent
        }
    }

    mutating func popMin() -> Element? {
        guard !elements.isEmpty else { return nil }
        let top = elements[0]
        let last = elements.removeLast()
        if !elements.isEmpty {
            elements[0] = last
            var i = 0
            let n = elements.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && elements[l] < elements[m] { m = l }
                if r < n && elements[r] < elements[m] { m = r }
                if m == i { break }
                elements.swapAt(i, m)
                i = m
            }
        }
        return top
    }

    /// Replaces the contents with `live` (any order): sorted, duplicates removed. A sorted
    /// array is a valid heap.
    mutating func rebuild(_ live: [Element]) {
        var s = live.sorted(by: <)
        var w = 0
        for i in 0..<s.count {
            if w > 0 && s[w - 1].deadline == s[i].deadline && s[w - 1].key == s[i].key { continue }
            s[w] = s[i]
            w += 1
        }
        s.removeLast(s.count - w)
        elements = s
    }

    mutating func removeAll() { elements = [] }
}

/// A key of the keyspace dictionary: the bytes, hashed in one call (`[UInt8]`'s own Hashable
/// feeds the hasher one byte at a time).
struct KVKey: Hashable {
    let bytes: [UInt8]

    @inline(__always) init(_ bytes: [UInt8]) { self.bytes = bytes }

    @inline(__always)
    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    @inline(__always)
    static func == (a: KVKey, b: KVKey) -> Bool { a.bytes == b.bytes }
}

/// The keyspace of database 0 and the leader time it has reached. Every change to the keys
/// goes through `add`, `remove` and `setDeadline`, which keep the slot index, the expiry heap
/// and the count of keys with a deadline in step.
final class KVStore {
    private var dict: [KVKey: KVEntry] = [:]
    private(set) var slots = KVSlotIndex()
    private var heap = KVExpiryHeap()
    private(set) var volatileCount = 0
    /// The latest leader time an applied entry carried (see `KVStateMachine.lastAppliedTime`).
    var time: UInt64 = 0

    typealias Index = Dictionary<KVKey, KVEntry>.Index

    var count: Int { dict.count }

    // MARK: Lookups

    /// The key's entry if it exists and has not expired at `now`. Never changes anything.
    @inline(__always)
    func live(_ key: [UInt8], _ now: UInt64) -> KVEntry? {
        guard let e = dict[KVKey(key)], now < e.deadline else { return nil }
        return e
    }

    /// The key's position for a write: an expired key is removed first (the lazy expiry
    /// every replica performs at the same entry), so nil means "absent".
    @inline(__always)
    func writable(_ key: [UInt8], _ now: UInt64) -> Index? {
        guard let i = dict.index(forKey: KVKey(key)) else { return nil }
        if now >= dict.values[i].deadline {
            remove(at: i)
            return nil
        }
        return i
    }

    @inline(__always) func entry(at i: Index) -> KVEntry { dict.values[i] }
    @inline(__always) func key(at i: Index) -> [UInt8] { dict.keys[i].bytes }
    @inline(__always) func index(of key: [UInt8]) -> Index? { dict.index(forKey: KVKey(key)) }

    /// Every stored key and entry, in no particular order.
    func forEach(_ body: ([UInt8], KVEntry) -> Void) {
        for (k, e) in dict { body(k.bytes, e) }
    }

    /// Every stored key and entry in key byte order (snapshots). Sorts small records of each
    /// key's first 16 bytes (big-endian, so integer order is byte order) and its position,
    /// comparing whole keys only on a tie: a snapshot of 100,000 keys was a third of its cost
    /// in moving (key, entry) pairs through a stable sort with a closure comparing bytes.
    func sortedEntries() -> [(key: [UInt8], entry: KVEntry)] {
        let all = Array(dict)
        var order = [KVSortRecord]()
        order.reserveCapacity(all.count)
        for i in 0..<all.count { order.append(KVSortRecord(all[i].key.bytes, Int32(i))) }
        order.sort { a, b in a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo }
        // Runs that tie on 16 bytes (longer keys sharing them, or a key and its zero-padded
        // prefix) are put in order by the whole key.
        var i = 0
        while i < order.count {
            var j = i + 1
            while j < order.count && order[j].hi == order[i].hi && order[j].lo == order[i].lo { j += 1 }
            if j - i > 1 {
                order[i..<j].sort { kvLess(all[Int($0.index)].key.bytes, all[Int($1.index)].key.bytes) }
            }
            i = j
        }
        return order.map { (key: all[Int($0.index)].key.bytes, entry: all[Int($0.index)].value) }
    }

    // MARK: Changes

    /// Adds a key known to be absent.
    func add(_ key: [UInt8], _ value: KVValue, deadline: UInt64 = noDeadline) {
        let node = slots.insert(key)
        dict[KVKey(key)] = KVEntry(value: value, deadline: deadline, node: node)
        if deadline != noDeadline {
            volatileCount += 1
            pushDeadline(deadline, key)
        }
    }

    func remove(at i: Index) {
        let e = dict.values[i]
        slots.remove(e.node)
        if e.deadline != noDeadline { volatileCount -= 1 }
        dict.remove(at: i)
    }

    /// Replaces the value at i; keepTTL false clears the deadline (as SET does).
    @inline(__always)
    func replace(at i: Index, _ value: KVValue, keepTTL: Bool) {
        dict.values[i].value = value
        if !keepTTL && dict.values[i].deadline != noDeadline { setDeadline(at: i, noDeadline) }
    }

    /// Sets the value of key (SET semantics: any type is overwritten).
    func set(_ key: [UInt8], _ value: KVValue, keepTTL: Bool, deadline: UInt64 = noDeadline, now: UInt64) {
        if let i = writable(key, now) {
            replace(at: i, value, keepTTL: keepTTL)
            if deadline != noDeadline { setDeadline(at: i, deadline) }
        } else {
            add(key, value, deadline: deadline)
        }
    }

    func setDeadline(at i: Index, _ deadline: UInt64) {
        let old = dict.values[i].deadline
        guard old != deadline else { return }
        dict.values[i].deadline = deadline
        if old == noDeadline { volatileCount += 1 }
        if deadline == noDeadline { volatileCount -= 1 } else { pushDeadline(deadline, dict.keys[i].bytes) }
    }

    /// Runs body on the string at i with the value moved out, so it is uniquely referenced and
    /// changed in place.
    @inline(__always)
    func mutateString<R>(at i: Index, _ body: (inout [UInt8]) -> R) -> R {
        guard case .string(var s) = dict.values[i].value else { preconditionFailure("not a string") }
        dict.values[i].value = .string([])
        defer { dict.values[i].value = .string(s) }
        return body(&s)
    }

    private func pushDeadline(_ deadline: UInt64, _ key: [UInt8]) {
        heap.push(.init(deadline: deadline, key: key))
        if heap.count > 2 * volatileCount + 1024 { compactHeap() }
    }

    private func compactHeap() {
        heap.rebuild(heap.elements.filter { dict[KVKey($0.key)]?.deadline == $0.deadline })
    }

    /// Removes keys whose deadline is at or before now, earliest (deadline, key) first, at most
    /// `limit` of them (0: all). Returns how many it removed. The order and therefore the set
    /// removed under a limit are the same on every replica, whatever its heap's history.
    func sweep(now: UInt64, limit: Int) -> Int {
        var removed = 0
        while let top = heap.min, top.deadline <= now {
            if limit > 0 && removed >= limit { break }
            _ = heap.popMin()
            if let i = dict.index(forKey: KVKey(top.key)), dict.values[i].deadline == top.deadline {
                remove(at: i)
                removed += 1
            }
        }
        return removed
    }

    /// The earliest deadline of any key, or nil when no key has one. Drops stale heap elements
    /// on the way (internal bookkeeping only; the keys do not change).
    func nextDeadline() -> UInt64? {
        while let top = heap.min {
            if dict[KVKey(top.key)]?.deadline == top.deadline { return top.deadline }
            _ = heap.popMin()
        }
        return nil
    }

    func removeAll() {
        dict = [:]
        slots = KVSlotIndex()
        heap.removeAll()
        volatileCount = 0
    }

    /// Replaces the whole keyspace (restore).
    func load(_ entries: [([UInt8], KVValue, UInt64)], time: UInt64) {
        removeAll()
        dict.reserveCapacity(entries.count)
        var deadlines: [KVExpiryHeap.Element] = []
        for (k, v, d) in entries {
            let node = slots.insert(k)
            dict[KVKey(k)] = KVEntry(value: v, deadline: d, node: node)
            if d != noDeadline {
                volatileCount += 1
                deadlines.append(.init(deadline: d, key: k))
            }
        }
        heap.rebuild(deadlines)
        self.time = time
    }
}

/// A key's first 16 bytes as two big-endian integers (zero-padded; a shorter key that is a
/// prefix of a longer one ties with it and is told apart by the full comparison), and where
/// the key is.
struct KVSortRecord {
    let hi: UInt64
    let lo: UInt64
    let index: Int32

    @inline(__always)
    init(_ key: [UInt8], _ index: Int32) {
        var hi: UInt64 = 0, lo: UInt64 = 0
        key.withUnsafeBufferPointer { b in
            let n = Swift.min(b.count, 16)
            for i in 0..<n {
                if i < 8 { hi |= UInt64(b[i]) << (56 - 8 * UInt64(i)) } else { lo |= UInt64(b[i]) << (56 - 8 * UInt64(i - 8)) }
            }
        }
        self.hi = hi
        self.lo = lo
        self.index = index
    }
}
