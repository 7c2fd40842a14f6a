/// Keys grouped by their Redis Cluster slot: a doubly linked chain per slot over flat arrays,
/// so adding or removing a key is O(1) and costs one CRC16. It serves SCAN (the cursor is a
/// slot number: every key lives in one slot for good, so a scan sees each key present
/// throughout exactly once, on any replica and across leader changes), CLUSTER
/// COUNTKEYSINSLOT and GETKEYSINSLOT.
struct KVSlotIndex {
    private(set) var counts = [Int32](repeating: 0, count: KVKeySlot.count)
    private var heads = [Int32](repeating: -1, count: KVKeySlot.count)
    /// Each node's key (empty when the node is free).
    private(set) var keys: [[UInt8]] = []
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

/// A key of the keyspace dictionary: the bytes and their hash, computed once (`[UInt8]`'s own
/// Hashable feeds the hasher one byte at a time). The hash is kept because Swift's dictionary
/// compares keys on every occupied bucket it probes: with the hash beside the bytes a probe
/// that lands on another key is told apart without reading that key's bytes, which in a large
/// keyspace is a cache miss per probe (the leader's largest cost in perf at 100,000 keys).
/// The hasher is the process's seeded one, so colliding keys cannot be chosen from outside.
struct KVKey: Hashable {
    let bytes: [UInt8]
    let hash: Int

    @inline(__always) init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var h = Hasher()
        bytes.withUnsafeBytes { h.combine(bytes: $0) }
        hash = h.finalize()
    }

    @inline(__always)
    func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    @inline(__always)
    static func == (a: KVKey, b: KVKey) -> Bool { a.hash == b.hash && kvEqual(a.bytes, b.bytes) }
}

/// The keyspace of database 0 and the leader time it has reached. Every change to the keys
/// goes through `add`, `remove` and `setDeadline`, which keep the slot index, the expiry heap,
/// the key order and the count of keys with a deadline in step.
///
/// A key's entry lives at its node (the slot index's, stable while the key exists): the
/// dictionary maps key → node, so a position (`Index`) stays valid across other changes and
/// snapshots walk entries in key order (`KVKeyOrder`) without hashing a key.
final class KVStore {
    private var dict: [KVKey: Int32] = [:]
    /// Entries by node; a free node's is empty.
    private var entries: [KVEntry] = []
    private(set) var slots = KVSlotIndex()
    private var order = KVKeyOrder()
    private var heap = KVExpiryHeap()
    private(set) var volatileCount = 0
    /// The latest leader time an applied entry carried (see `KVStateMachine.lastAppliedTime`).
    var time: UInt64 = 0

    /// A live key's node.
    typealias Index = Int32

    var count: Int { dict.count }

    // MARK: Lookups

    /// The key's entry if it exists and has not expired at `now`. Never changes anything.
    @inline(__always)
    func live(_ key: [UInt8], _ now: UInt64) -> KVEntry? {
        guard let n = dict[KVKey(key)] else { return nil }
        let e = entries[Int(n)]
        return now < e.deadline ? e : nil
    }

    /// The key's position for a write: an expired key is removed first (the lazy expiry
    /// every replica performs at the same entry), so nil means "absent".
    @inline(__always)
    func writable(_ key: [UInt8], _ now: UInt64) -> Index? {
        guard let n = dict[KVKey(key)] else { return nil }
        if now >= entries[Int(n)].deadline {
            remove(at: n)
            return nil
        }
        return n
    }

    @inline(__always) func entry(at i: Index) -> KVEntry { entries[Int(i)] }
    @inline(__always) func key(at i: Index) -> [UInt8] { slots.keys[Int(i)] }
    @inline(__always) func index(of key: [UInt8]) -> Index? { dict[KVKey(key)] }

    /// Every stored key and entry, in no particular order.
    func forEach(_ body: ([UInt8], KVEntry) -> Void) {
        for (k, n) in dict { body(k.bytes, entries[Int(n)]) }
    }

    /// The keyspace in key byte order (snapshots), expired keys included: `body` gets the order
    /// (each record's `index` is a node) and the keys and entries by node, as constants, so a
    /// loop over them reads elements without retaining each (about half of a snapshot's cost
    /// when it went through a closure per key).
    func withKeyOrder<R>(_ body: (_ order: [KVSortRecord], _ keys: [[UInt8]], _ entries: [KVEntry]) -> R) -> R {
        let keys = slots.keys
        return body(order.ordered(keys: keys), keys, entries)
    }

    /// Every stored key and entry in key byte order, expired ones included.
    func forEachInKeyOrder(_ body: ([UInt8], KVEntry) -> Void) {
        withKeyOrder { order, keys, entries in
            for r in order { body(keys[Int(r.index)], entries[Int(r.index)]) }
        }
    }

    /// `forEachInKeyOrder` as an array (tests).
    func sortedEntries() -> [(key: [UInt8], entry: KVEntry)] {
        var out: [(key: [UInt8], entry: KVEntry)] = []
        out.reserveCapacity(count)
        forEachInKeyOrder { out.append((key: $0, entry: $1)) }
        return out
    }

    /// Changes the key order has not folded in yet (tests).
    var pendingOrderChanges: Int { order.pendingChanges }

    // MARK: Changes

    /// Adds a key known to be absent.
    func add(_ key: [UInt8], _ value: KVValue, deadline: UInt64 = noDeadline) {
        let node = slots.insert(key)
        store(KVEntry(value: value, deadline: deadline), at: node)
        dict[KVKey(key)] = node
        order.added(node)
        if deadline != noDeadline {
            volatileCount += 1
            pushDeadline(deadline, key)
        }
        // Without snapshots the keys added since the last one would pile up.
        if order.shouldFold(liveCount: dict.count) { _ = order.ordered(keys: slots.keys) }
    }

    @inline(__always)
    private func store(_ e: KVEntry, at node: Int32) {
        if Int(node) == entries.count { entries.append(e) } else { entries[Int(node)] = e }
    }

    func remove(at i: Index) {
        let n = Int(i)
        if entries[n].deadline != noDeadline { volatileCount -= 1 }
        dict[KVKey(slots.keys[n])] = nil
        entries[n] = KVEntry(value: .string([]), deadline: noDeadline)
        order.removed(i)
        slots.remove(i)
    }

    /// Replaces the value at i; keepTTL false clears the deadline (as SET does).
    @inline(__always)
    func replace(at i: Index, _ value: KVValue, keepTTL: Bool) {
        entries[Int(i)].value = value
        if !keepTTL && entries[Int(i)].deadline != noDeadline { setDeadline(at: i, noDeadline) }
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
        let n = Int(i)
        let old = entries[n].deadline
        guard old != deadline else { return }
        entries[n].deadline = deadline
        if old == noDeadline { volatileCount += 1 }
        if deadline == noDeadline { volatileCount -= 1 } else { pushDeadline(deadline, slots.keys[n]) }
    }

    /// Runs body on the string at i with the value moved out, so it is uniquely referenced and
    /// changed in place.
    @inline(__always)
    func mutateString<R>(at i: Index, _ body: (inout [UInt8]) -> R) -> R {
        let n = Int(i)
        guard case .string(var s) = entries[n].value else { preconditionFailure("not a string") }
        entries[n].value = .string([])
        defer { entries[n].value = .string(s) }
        return body(&s)
    }

    /// The deadline of a live key, nil when absent.
    @inline(__always)
    private func deadline(of key: [UInt8]) -> UInt64? {
        dict[KVKey(key)].map { entries[Int($0)].deadline }
    }

    private func pushDeadline(_ deadline: UInt64, _ key: [UInt8]) {
        heap.push(.init(deadline: deadline, key: key))
        if heap.count > 2 * volatileCount + 1024 { compactHeap() }
    }

    private func compactHeap() {
        heap.rebuild(heap.elements.filter { deadline(of: $0.key) == $0.deadline })
    }

    /// Removes keys whose deadline is at or before now, earliest (deadline, key) first, at most
    /// `limit` of them (0: all). Returns how many it removed. The order and therefore the set
    /// removed under a limit are the same on every replica, whatever its heap's history.
    func sweep(now: UInt64, limit: Int) -> Int {
        var removed = 0
        while let top = heap.min, top.deadline <= now {
            if limit > 0 && removed >= limit { break }
            _ = heap.popMin()
            if let n = dict[KVKey(top.key)], entries[Int(n)].deadline == top.deadline {
                remove(at: n)
                removed += 1
            }
        }
        return removed
    }

    /// The earliest deadline of any key, or nil when no key has one. Drops stale heap elements
    /// on the way (internal bookkeeping only; the keys do not change).
    func nextDeadline() -> UInt64? {
        while let top = heap.min {
            if deadline(of: top.key) == top.deadline { return top.deadline }
            _ = heap.popMin()
        }
        return nil
    }

    func removeAll() {
        dict = [:]
        entries = []
        slots = KVSlotIndex()
        order.removeAll()
        heap.removeAll()
        volatileCount = 0
    }

    /// Replaces the whole keyspace (restore). `inKeyOrder`: the entries are in key byte order
    /// (a checked format-2 snapshot), so the key order needs no sort.
    func load(_ all: [([UInt8], KVValue, UInt64)], time: UInt64, inKeyOrder: Bool) {
        removeAll()
        dict.reserveCapacity(all.count)
        entries.reserveCapacity(all.count)
        var deadlines: [KVExpiryHeap.Element] = []
        var nodes: [Int32] = []
        nodes.reserveCapacity(all.count)
        for (k, v, d) in all {
            let node = slots.insert(k)
            store(KVEntry(value: v, deadline: d), at: node)
            dict[KVKey(k)] = node
            nodes.append(node)
            if d != noDeadline {
                volatileCount += 1
                deadlines.append(.init(deadline: d, key: k))
            }
        }
        if inKeyOrder { order.load(inKeyOrder: nodes, keys: slots.keys) } else { for n in nodes { order.added(n) } }
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
