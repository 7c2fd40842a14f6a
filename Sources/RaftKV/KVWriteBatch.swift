/// Client writes gathered into one log entry as they arrive, encoded straight from the
/// request parser's buffer (no argv arrays): one write gives the same bytes as
/// `KVCommand.exec(nowMs:args:).encoded`, several the same as `.transaction(nowMs:commands:)`
/// — independent commands executed in order at one time, each reply its own item of the
/// entry's array reply.
public struct KVWriteBatch {
    /// The commands encoded so far (argc, then each argument as a blob), back to back.
    private var body: [UInt8] = []
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
        Self.varint(UInt64(args.count), into: &body)
        var key: Range<Int>?
        for i in 0..<args.count {
            let a = args[i]
            Self.varint(UInt64(a.count), into: &body)
            if i == 1 { key = body.count..<(body.count + a.count) }
            body.append(contentsOf: a)
        }
        count += 1
        return key
    }

    /// The entry for everything added, at leader time `nowMs`, and where the commands start in
    /// it (add that to a range from `add`); the batch is empty again.
    public mutating func takeEntry(nowMs: UInt64) -> (entry: [UInt8], commandsOffset: Int) {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 24)
        out.append(KVCommand.format)
        out.append(count == 1 ? KVCommand.Kind.exec.rawValue : KVCommand.Kind.transaction.rawValue)
        Self.varint(nowMs, into: &out)
        if count != 1 { Self.varint(UInt64(count), into: &out) }
        let offset = out.count
        out.append(contentsOf: body)
        body.removeAll(keepingCapacity: true)
        count = 0
        return (out, offset)
    }

    /// ByteWriter's LEB128.
    @inline(__always)
    static func varint(_ v: UInt64, into out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }
}
