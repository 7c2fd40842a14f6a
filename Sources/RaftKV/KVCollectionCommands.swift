// Hash and list commands. A hash or list left empty is deleted, as in Redis.

extension KVStore {
    // MARK: Lookup helpers

    /// The hash at key for a read: .success(nil) when absent.
    @inline(__always)
    func readHash(_ key: [UInt8], _ now: UInt64) -> KVResult<KVHash?> {
        guard let e = live(key, now) else { return .success(nil) }
        guard case .hash(let h) = e.value else { return .failure(KVReply.wrongType) }
        return .success(h)
    }

    /// The hash at key for a write, created (and stored) when absent and `create`.
    func writeHash(_ key: [UInt8], _ now: UInt64, create: Bool) -> KVResult<KVHash?> {
        if let i = writable(key, now) {
            guard case .hash(let h) = entry(at: i).value else { return .failure(KVReply.wrongType) }
            return .success(h)
        }
        guard create else { return .success(nil) }
        let h = KVHash()
        add(key, .hash(h))
        return .success(h)
    }

    @inline(__always)
    func readList(_ key: [UInt8], _ now: UInt64) -> KVResult<KVList?> {
        guard let e = live(key, now) else { return .success(nil) }
        guard case .list(let l) = e.value else { return .failure(KVReply.wrongType) }
        return .success(l)
    }

    func writeList(_ key: [UInt8], _ now: UInt64, create: Bool) -> KVResult<KVList?> {
        if let i = writable(key, now) {
            guard case .list(let l) = entry(at: i).value else { return .failure(KVReply.wrongType) }
            return .success(l)
        }
        guard create else { return .success(nil) }
        let l = KVList()
        add(key, .list(l))
        return .success(l)
    }

    /// Deletes key if its hash or list became empty.
    func dropIfEmpty(_ key: [UInt8]) {
        guard let i = index(of: key) else { return }
        switch entry(at: i).value {
        case .hash(let h) where h.isEmpty: remove(at: i)
        case .list(let l) where l.count == 0: remove(at: i)
        default: break
        }
    }

    // MARK: Hashes

    func cmdHSet(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { hset(a, now, name: "hset") }
    func cmdHMSet(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { hset(a, now, name: "hmset") }

    private func hset(_ a: [[UInt8]], _ now: UInt64, name: String) -> RESPValue {
        guard a.count % 2 == 0 else { return KVReply.arity(name) }
        switch writeHash(a[1], now, create: true) {
        case .failure(let r): return r
        case .success(let h?):
            var added: Int64 = 0
            var j = 2
            while j < a.count {
                if h.set(a[j], a[j + 1]) { added += 1 }
                j += 2
            }
            return name == "hset" ? .integer(added) : .ok
        case .success(nil): return KVReply.zero
        }
    }

    func cmdHSetNX(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        let h: KVHash
        switch writeHash(a[1], now, create: true) {
        case .failure(let r): return r
        case .success(let x): h = x!
        }
        if h[a[2]] != nil { return KVReply.zero }
        h[a[2]] = a[3]
        return KVReply.one
    }

    func cmdHGet(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        switch readHash(a[1], now) {
        case .failure(let r): return r
        case .success(let h): return .bulk(h?[a[2]])
        }
    }

    func cmdHMGet(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        switch readHash(a[1], now) {
        case .failure(let r): return r
        case .success(let h): return .array(a.dropFirst(2).map { .bulk(h?[$0]) })
        }
    }

    func cmdHDel(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        switch writeHash(a[1], now, create: false) {
        case .failure(let r): return r
        case .success(nil): return KVReply.zero
        case .success(let h?):
            var n: Int64 = 0
            for f in a.dropFirst(2) where h.remove(f) { n += 1 }
            dropIfEmpty(a[1])
            return .integer(n)
        }
    }

    /// Field, value, field, value, ... in field byte order.
    func cmdHGetAll(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        switch readHash(a[1], now) {
        case .failure(let r): return r
        case .success(nil): return KVReply.emptyArray
        case .success(let h?):
            var out: [RESPValue] = []
            out.reserveCapacity(h.count * 2)
            for (f, v) in h.sortedPairs {
                out.append(.bulk(f))
                out.append(.bulk(v))
            }
            return .array(out)
        }
    }

    func cmdHKeys(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        switch readHash(a[1], now) {
        case .failure(let r): return r
        case .success(let h): return .array((h?.sortedPairs ?? []).map { .bulk($0.field) })
        }
    }

    func cmdHVals(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        switch readHash(a[1], now) {
        case .failure(let r): return r
        case .success(nil): return KVReply.emptyArray
        case .success(let h?): return .array(h.sortedPairs.map { .bulk($0.value) })
        }
    }

    func cmdHLen(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        switch readHash(a[1], now) {
        case .failure(let r): return r
        case .success(let h): return .integer(Int64(h?.count ?? 0))
        }
    }

    func cmdHExists(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        switch readHash(a[1], now) {
        case .failure(let r): return r
        case .success(let h): return h?[a[2]] != nil ? KVReply.one : KVReply.zero
        }
    }

    func cmdHStrlen(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        switch readHash(a[1], now) {
        case .failure(let r): return r
        case .success(let h): return .integer(Int64(h?[a[2]]?.count ?? 0))
        }
    }

    func cmdHIncrBy(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        guard let incr = KVNumber.parseInt64(a[3]) else { return KVReply.notInteger }
        let h: KVHash?
        switch writeHash(a[1], now, create: false) {
        case .failure(let r): return r
        case .success(let x): h = x
        }
        var value: Int64 = 0
        if let s = h?[a[2]] {
            guard let v = KVNumber.parseInt64(s) else { return KVReply.hashNotInteger }
            value = v
        }
        let (sum, o) = value.addingReportingOverflow(incr)
        if o { return KVReply.overflow }
        if let h { h[a[2]] = KVNumber.bytes(sum) } else { add(a[1], .hash(KVHash(a[2], KVNumber.bytes(sum)))) }
        return .integer(sum)
    }

    func cmdHIncrByFloat(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        guard let incr = KVFloat.parse(a[3]) else { return KVReply.notFloat }
        guard incr.isFinite else { return KVReply.valueNanOrInfinity }
        let h: KVHash?
        switch writeHash(a[1], now, create: false) {
        case .failure(let r): return r
        case .success(let x): h = x
        }
        var value = KVFloat.decimal(mantissa: 0, exponent: 0)
        if let s = h?[a[2]] {
            guard let v = KVFloat.parse(s) else { return KVReply.hashNotFloat }
            value = v
        }
        guard case .success(let sum) = KVFloat.add(value, incr) else { return KVReply.nanOrInfinity }
        let text = sum.formatted
        if let h { h[a[2]] = text } else { add(a[1], .hash(KVHash(a[2], text))) }
        return .bulk(text)
    }

    // MARK: Lists

    func cmdLPush(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { push(a, now, front: true, onlyExisting: false) }
    func cmdRPush(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { push(a, now, front: false, onlyExisting: false) }
    func cmdLPushX(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { push(a, now, front: true, onlyExisting: true) }
    func cmdRPushX(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { push(a, now, front: false, onlyExisting: true) }

    private func push(_ a: [[UInt8]], _ now: UInt64, front: Bool, onlyExisting: Bool) -> RESPValue {
        switch writeList(a[1], now, create: !onlyExisting) {
        case .failure(let r): return r
        case .success(nil): return KVReply.zero
        case .success(let l?):
            for v in a.dropFirst(2) { if front { l.pushFront(v) } else { l.pushBack(v) } }
            return .integer(Int64(l.count))
        }
    }

    func cmdLPop(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { pop(a, now, front: true, name: "lpop") }
    func cmdRPop(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { pop(a, now, front: false, name: "rpop") }

    private func pop(_ a: [[UInt8]], _ now: UInt64, front: Bool, name: String) -> RESPValue {
        if a.count > 3 { return KVReply.arity(name) }
        var count: Int64? = nil
        if a.count == 3 {
            guard let c = KVNumber.parseInt64(a[2]), c >= 0 else { return KVReply.mustBePositive }
            count = c
        }
        switch writeList(a[1], now, create: false) {
        case .failure(let r): return r
        case .success(nil): return count == nil ? .null : KVReply.nullArray
        case .success(let l?):
            guard let c = count else {
                let v = front ? l.popFront() : l.popBack()
                dropIfEmpty(a[1])
                return .bulk(v)
            }
            var out: [RESPValue] = []
            let n = Int(min(c, Int64(l.count)))
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(.bulk(front ? l.popFront() : l.popBack())) }
            dropIfEmpty(a[1])
            return .array(out)
        }
    }

    func cmdLRange(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        guard var start = KVNumber.parseInt64(a[2]), var end = KVNumber.parseInt64(a[3]) else { return KVReply.notInteger }
        switch readList(a[1], now) {
        case .failure(let r): return r
        case .success(nil): return KVReply.emptyArray
        case .success(let l?):
            let n = Int64(l.count)
            if start < 0 { start = n + start }
            if end < 0 { end = n + end }
            if start < 0 { start = 0 }
            if start > end || start >= n { return KVReply.emptyArray }
            if end >= n { end = n - 1 }
            return .array(l.elements(Int(start), Int(end)).map { .bulk($0) })
        }
    }

    func cmdLLen(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        switch readList(a[1], now) {
        case .failure(let r): return r
        case .success(let l): return .integer(Int64(l?.count ?? 0))
        }
    }

    func cmdLIndex(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        switch readList(a[1], now) {
        case .failure(let r): return r
        case .success(nil): return .null
        case .success(let l?):
            guard var i = KVNumber.parseInt64(a[2]) else { return KVReply.notInteger }
            if i < 0 { i += Int64(l.count) }
            guard i >= 0 && i < Int64(l.count) else { return .null }
            return .bulk(l[Int(i)])
        }
    }

    func cmdLSet(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        switch writeList(a[1], now, create: false) {
        case .failure(let r): return r
        case .success(nil): return KVReply.noSuchKey
        case .success(let l?):
            guard var i = KVNumber.parseInt64(a[2]) else { return KVReply.notInteger }
            if i < 0 { i += Int64(l.count) }
            guard i >= 0 && i < Int64(l.count) else { return KVReply.indexOutOfRange }
            l[Int(i)] = a[3]
            return .ok
        }
    }

    func cmdLTrim(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        guard var start = KVNumber.parseInt64(a[2]), var end = KVNumber.parseInt64(a[3]) else { return KVReply.notInteger }
        switch writeList(a[1], now, create: false) {
        case .failure(let r): return r
        case .success(nil): return .ok
        case .success(let l?):
            let n = Int64(l.count)
            if start < 0 { start = n + start }
            if end < 0 { end = n + end }
            if start < 0 { start = 0 }
            if start > end || start >= n {
                l.keep(0, -1)
            } else {
                if end >= n { end = n - 1 }
                l.keep(Int(start), Int(end))
            }
            dropIfEmpty(a[1])
            return .ok
        }
    }
}
