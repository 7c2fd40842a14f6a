import RaftCore

/// raftengine-node's replicated state: a map of byte strings, where INCR/INCRBY treat a value
/// as a decimal integer as Redis does. Apply returns the RESP reply for the client.
public final class KVStateMachine: StateMachine {
    public private(set) var store: [[UInt8]: [UInt8]] = [:]

    public init() {}

    public func apply(_ command: [UInt8], index: LogIndex) throws -> [UInt8] {
        let cmd: KVCommand
        do { cmd = try KVCommand(decoding: command) } catch {
            // A command this version cannot read is answered, not applied: every node
            // answers the same, so replicas stay identical.
            return RESPValue.error("ERR undecodable command: \(error)").encoded
        }
        switch cmd {
        case .set(let k, let v):
            store[k] = v
            return RESPValue.ok.encoded
        case .delete(let keys):
            var n: Int64 = 0
            for k in keys where store.removeValue(forKey: k) != nil { n += 1 }
            return RESPValue.integer(n).encoded
        case .incrementBy(let k, let d):
            let current: Int64
            if let v = store[k] {
                guard let parsed = Int64(String(decoding: v, as: UTF8.self)) else {
                    return RESPValue.error("ERR value is not an integer or out of range").encoded
                }
                current = parsed
            } else {
                current = 0
            }
            let (sum, overflow) = current.addingReportingOverflow(d)
            guard !overflow else { return RESPValue.error("ERR increment or decrement would overflow").encoded }
            store[k] = Array(String(sum).utf8)
            return RESPValue.integer(sum).encoded
        }
    }

    public func get(_ key: [UInt8]) -> [UInt8]? { store[key] }
    public var count: Int { store.count }

    /// Keys in sorted order, so every replica's snapshot of the same state is byte-identical.
    public func snapshot() throws -> [UInt8] {
        var w = ByteWriter(capacity: 16 + store.reduce(0) { $0 + $1.key.count + $1.value.count + 4 })
        w.u8(1)
        w.varint(UInt64(store.count))
        for (k, v) in store.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            w.blob(k)
            w.blob(v)
        }
        return w.bytes
    }

    public func restore(_ data: [UInt8]) throws {
        var r = ByteReader(data)
        let version = try r.u8()
        guard version == 1 else { throw WireError.unknownVersion(version) }
        let n = try r.count(minItemSize: 2)
        var s: [[UInt8]: [UInt8]] = [:]
        s.reserveCapacity(n)
        for _ in 0..<n {
            let k = try r.blob()
            s[k] = try r.blob()
        }
        try r.expectEnd()
        store = s
    }
}
