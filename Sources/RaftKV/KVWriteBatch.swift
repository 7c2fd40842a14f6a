/// Client writes gathered into one log entry as they arrive, encoded straight from the
/// request parser's buffer (no argv arrays): one write gives the same bytes as
/// `KVCommand.exec(nowMs:args:).encoded`, several the same as `.transaction(nowMs:commands:)`
/// — independent commands executed in order at one time, each reply its own item of the
/// entry's array reply.
///
/// The commands go into memory of their own, written through a pointer: appending each
/// length and argument to an array cost more than the rest of proposing a write (about 570
/// instructions per SET in callgrind). A copy of a batch shares that memory until either
/// changes it.
public struct KVWriteBatch {
    /// The commands encoded so far (argc, then each argument as a blob), back to back.
    private var body = Bytes(capacity: 4096)
    public private(set) var count = 0

    public init() {}

    /// Bytes of the commands so far (the entry adds a few).
    public var byteCount: Int { body.count }

    /// What `add` takes for `args`, at most.
    public static func size(of args: RESPArgs) -> Int {
        var n = 10
        for i in 0..<args.count { n += args[i].count + 10 }
        return n
    }

    /// Appends one command; returns where its first key (argument 1) lies among the batch's
    /// commands (see `takeEntry`), nil if it has none.
    public mutating func add(_ args: RESPArgs) -> Range<Int>? {
        if !isKnownUniquelyReferenced(&body) { body = body.copy() }
        body.reserve(Self.size(of: args))
        var at = body.count
        let p = body.base
        Self.varint(UInt64(args.count), p, &at)
        var key: Range<Int>?
        for i in 0..<args.count {
            let a = args[i]
            Self.varint(UInt64(a.count), p, &at)
            if i == 1 { key = at..<(at + a.count) }
            if let src = a.baseAddress { (p + at).initialize(from: src, count: a.count) }
            at += a.count
        }
        body.count = at
        count += 1
        return key
    }

    /// The entry for everything added, at leader time `nowMs`, and where the commands start in
    /// it (add that to a range from `add`); the batch is empty again.
    public mutating func takeEntry(nowMs: UInt64) -> (entry: [UInt8], commandsOffset: Int) {
        var offset = 0
        let n = body.count
        let entry = [UInt8](unsafeUninitializedCapacity: n + 22) { out, initialized in
            let p = out.baseAddress!
            p[0] = KVCommand.format
            p[1] = count == 1 ? KVCommand.Kind.exec.rawValue : KVCommand.Kind.transaction.rawValue
            var at = 2
            Self.varint(nowMs, p, &at)
            if count != 1 { Self.varint(UInt64(count), p, &at) }
            offset = at
            (p + at).initialize(from: body.base, count: n)
            initialized = at + n
        }
        if !isKnownUniquelyReferenced(&body) || body.capacity > 1 << 20 {
            // Shared with a copy, or grown by one huge batch: start afresh.
            body = Bytes(capacity: 4096)
        } else {
            body.count = 0
        }
        count = 0
        return (entry, offset)
    }

    /// ByteWriter's LEB128, at `at` (moved past it).
    @inline(__always)
    static func varint(_ v: UInt64, _ p: UnsafeMutablePointer<UInt8>, _ at: inout Int) {
        var v = v
        while v >= 0x80 {
            p[at] = UInt8(truncatingIfNeeded: v) | 0x80
            at += 1
            v >>= 7
        }
        p[at] = UInt8(v)
        at += 1
    }

    /// Bytes in memory this batch owns (a class, so it is freed once).
    private final class Bytes {
        private(set) var base: UnsafeMutablePointer<UInt8>
        private(set) var capacity: Int
        var count = 0

        init(capacity: Int) {
            self.capacity = capacity
            base = .allocate(capacity: capacity)
        }

        deinit { base.deallocate() }

        func copy() -> Bytes {
            let c = Bytes(capacity: capacity)
            c.base.initialize(from: base, count: count)
            c.count = count
            return c
        }

        /// Room for `extra` more bytes, growing geometrically.
        @inline(__always)
        func reserve(_ extra: Int) {
            guard count + extra > capacity else { return }
            let next = Swift.max(count + extra, 2 * capacity)
            let b = UnsafeMutablePointer<UInt8>.allocate(capacity: next)
            b.initialize(from: base, count: count)
            base.deallocate()
            base = b
            capacity = next
        }
    }
}
