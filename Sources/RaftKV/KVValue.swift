/// A key's value. Hashes and lists are classes so commands change them in place (one reference
/// per key: nothing else holds them), and so the enum stays one word.
enum KVValue {
    case string([UInt8])
    case hash(KVHash)
    case list(KVList)

    var typeName: String {
        switch self {
        case .string: return "string"
        case .hash: return "hash"
        case .list: return "list"
        }
    }
}

/// A Redis hash: field → value. Replies that list fields give them in byte order, so they do
/// not depend on the process's hash seed.
final class KVHash {
    private var fields: [KVKey: [UInt8]] = [:]

    init() {}

    init(_ field: [UInt8], _ value: [UInt8]) { fields[KVKey(field)] = value }

    var count: Int { fields.count }
    var isEmpty: Bool { fields.isEmpty }

    subscript(field: [UInt8]) -> [UInt8]? {
        get { fields[KVKey(field)] }
        set { fields[KVKey(field)] = newValue }
    }

    /// Sets field; true when it is new.
    @discardableResult
    func set(_ field: [UInt8], _ value: [UInt8]) -> Bool {
        fields.updateValue(value, forKey: KVKey(field)) == nil
    }

    /// Removes field; true when it was there.
    func remove(_ field: [UInt8]) -> Bool {
        fields.removeValue(forKey: KVKey(field)) != nil
    }

    func reserveCapacity(_ n: Int) { fields.reserveCapacity(n) }

    /// Every (field, value), in no particular order.
    func forEachPair(_ body: ([UInt8], [UInt8]) -> Void) {
        for (f, v) in fields { body(f.bytes, v) }
    }

    /// (field, value) in field byte order.
    var sortedPairs: [(field: [UInt8], value: [UInt8])] {
        fields.map { (field: $0.key.bytes, value: $0.value) }.sorted { kvLess($0.field, $1.field) }
    }
}

/// A Redis list: a ring buffer, O(1) at both ends and by index.
final class KVList {
    private var buffer: [[UInt8]]
    private var head = 0
    private(set) var count = 0

    init() { buffer = Array(repeating: [], count: 4) }

    init(_ items: [[UInt8]]) {
        var cap = 4
        while cap < items.count { cap <<= 1 }
        buffer = items
        buffer.append(contentsOf: repeatElement([], count: cap - items.count))
        count = items.count
    }

    @inline(__always) private var mask: Int { buffer.count - 1 }

    private func grow() {
        var next: [[UInt8]] = []
        next.reserveCapacity(buffer.count * 2)
        for i in 0..<count { next.append(buffer[(head + i) & mask]) }
        next.append(contentsOf: repeatElement([], count: buffer.count * 2 - count))
        buffer = next
        head = 0
    }

    func pushBack(_ v: [UInt8]) {
        if count == buffer.count { grow() }
        buffer[(head + count) & mask] = v
        count += 1
    }

    func pushFront(_ v: [UInt8]) {
        if count == buffer.count { grow() }
        head = (head - 1) & mask
        buffer[head] = v
        count += 1
    }

    func popFront() -> [UInt8]? {
        guard count > 0 else { return nil }
        let v = buffer[head]
        buffer[head] = []
        head = (head + 1) & mask
        count -= 1
        shrinkIfSparse()
        return v
    }

    func popBack() -> [UInt8]? {
        guard count > 0 else { return nil }
        let i = (head + count - 1) & mask
        let v = buffer[i]
        buffer[i] = []
        count -= 1
        shrinkIfSparse()
        return v
    }

    private func shrinkIfSparse() {
        if buffer.count > 64 && count < buffer.count / 8 {
            self.replaceAll(Array(self.elements(0, count - 1)))
        }
    }

    private func replaceAll(_ items: [[UInt8]]) {
        var cap = 4
        while cap < items.count { cap <<= 1 }
        buffer = items
        buffer.append(contentsOf: repeatElement([], count: cap - items.count))
        head = 0
        count = items.count
    }

    subscript(i: Int) -> [UInt8] {
        get { buffer[(head + i) & mask] }
        set { buffer[(head + i) & mask] = newValue }
    }

    /// Elements first...last (inclusive; caller checks the bounds).
    func elements(_ first: Int, _ last: Int) -> [[UInt8]] {
        guard first <= last else { return [] }
        var out: [[UInt8]] = []
        out.reserveCapacity(last - first + 1)
        for i in first...last { out.append(buffer[(head + i) & mask]) }
        return out
    }

    /// Keeps elements first...last (inclusive, in range), dropping the rest.
    func keep(_ first: Int, _ last: Int) {
        replaceAll(elements(first, last))
    }

    var all: [[UInt8]] { elements(0, count - 1) }
}

/// One key's record: its value and its deadline (absolute ms of leader time; `noDeadline` when
/// the key does not expire). Kept at the key's node in the slot index (KVStore).
struct KVEntry {
    var value: KVValue
    var deadline: UInt64
}

let noDeadline = UInt64.max
