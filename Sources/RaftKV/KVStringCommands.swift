// String commands. Each takes Redis's argv (a[0] is the command name; the dispatcher has
// checked the arity) and the time the command runs at, in ms of leader time. Writes find keys
// with `writable` (an expired key is removed then), reads with `live` (nothing changes).

enum KVExpireUnit { case ex, px, exat, pxat }

/// SET's and GETEX's options (t_string.c's parseExtendedStringArgumentsOrReply, with its
/// exact rules: NX/XX exclusive, one of EX/PX/EXAT/PXAT/KEEPTTL/PERSIST, a time option may be
/// repeated with the last one winning).
struct KVSetOptions {
    var nx = false, xx = false, get = false, keepTTL = false, persist = false
    var unit: KVExpireUnit?
    var expire: [UInt8]?

    /// nil: syntax error.
    init?(_ a: [[UInt8]], from: Int, forSet: Bool) {
        var j = from
        while j < a.count {
            let o = a[j]
            let hasNext = j + 1 < a.count
            let timeSet = unit != nil
            if forSet && kvIs(o, "nx") && !xx {
                nx = true
            } else if forSet && kvIs(o, "xx") && !nx {
                xx = true
            } else if forSet && kvIs(o, "get") {
                get = true
            } else if forSet && kvIs(o, "keepttl") && !persist && !timeSet {
                keepTTL = true
            } else if !forSet && kvIs(o, "persist") && !timeSet && !keepTTL {
                persist = true
            } else if let u = Self.unitNamed(o), hasNext, !keepTTL, !persist, unit == nil || unit == u {
                unit = u
                expire = a[j + 1]
                j += 1
            } else {
                return nil
            }
            j += 1
        }
    }

    private static func unitNamed(_ o: [UInt8]) -> KVExpireUnit? {
        if kvIs(o, "ex") { return .ex }
        if kvIs(o, "px") { return .px }
        if kvIs(o, "exat") { return .exat }
        if kvIs(o, "pxat") { return .pxat }
        return nil
    }
}

extension KVStore {
    // MARK: Helpers

    /// getExpireMillisecondsOrReply: a positive amount, converted to an absolute deadline.
    static func deadline(_ arg: [UInt8], _ unit: KVExpireUnit, now: UInt64, command: String) -> KVResult<UInt64> {
        guard var ms = KVNumber.parseInt64(arg) else { return .failure(KVReply.notInteger) }
        let seconds = unit == .ex || unit == .exat
        if ms <= 0 || (seconds && ms > Int64.max / 1000) { return .failure(KVReply.invalidExpire(command)) }
        if seconds { ms *= 1000 }
        if unit == .ex || unit == .px {
            let (sum, o) = ms.addingReportingOverflow(Int64(clamping: now))
            if o { return .failure(KVReply.invalidExpire(command)) }
            ms = sum
        }
        if ms <= 0 { return .failure(KVReply.invalidExpire(command)) }
        return .success(UInt64(ms))
    }

    /// The string at key for a read: .success(nil) when absent, .failure on another type.
    @inline(__always)
    func readString(_ key: [UInt8], _ now: UInt64) -> KVResult<[UInt8]?> {
        guard let e = live(key, now) else { return .success(nil) }
        guard case .string(let s) = e.value else { return .failure(KVReply.wrongType) }
        return .success(s)
    }

    /// setGenericCommand.
    func setGeneric(_ key: [UInt8], _ value: [UInt8], nx: Bool = false, xx: Bool = false, get: Bool = false,
                    keepTTL: Bool = false, deadline: UInt64 = noDeadline, now: UInt64,
                    okReply: RESPValue = .ok, abortReply: RESPValue = .null) -> RESPValue {
        let i = writable(key, now)
        var old = RESPValue.null
        if get, let i {
            guard case .string(let s) = entry(at: i).value else { return KVReply.wrongType }
            old = .bulk(s)
        }
        let found = i != nil
        if (nx && found) || (xx && !found) { return get ? old : abortReply }
        if deadline != noDeadline && deadline <= now {
            // A deadline already past: the key ends up absent, as it would expire at once.
            if let i { remove(at: i) }
        } else if let i {
            replace(at: i, .string(value), keepTTL: keepTTL)
            if deadline != noDeadline { setDeadline(at: i, deadline) }
        } else {
            add(key, .string(value), deadline: deadline)
        }
        return get ? old : okReply
    }

    func incrementBy(_ key: [UInt8], _ delta: Int64, _ now: UInt64) -> RESPValue {
        guard let i = writable(key, now) else {
            add(key, .string(KVNumber.bytes(delta)))
            return .integer(delta)
        }
        guard case .string(let s) = entry(at: i).value else { return KVReply.wrongType }
        guard let v = KVNumber.parseInt64(s) else { return KVReply.notInteger }
        let (sum, o) = v.addingReportingOverflow(delta)
        if o { return KVReply.overflow }
        replace(at: i, .string(KVNumber.bytes(sum)), keepTTL: true)
        return .integer(sum)
    }

    /// Redis's GETRANGE / LRANGE index arithmetic for a string of length n (inclusive range,
    /// nil when empty).
    static func stringRange(_ start: Int64, _ end: Int64, _ n: Int64) -> (Int, Int)? {
        var s = start, e = end
        if s < 0 && e < 0 && s > e { return nil }
        if s < 0 { s = n + s }
        if e < 0 { e = n + e }
        if s < 0 { s = 0 }
        if e < 0 { e = 0 }
        if e >= n { e = n - 1 }
        if s > e || n == 0 { return nil }
        return (Int(s), Int(e))
    }

    // MARK: Commands

    func cmdGet(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        switch readString(a[1], now) {
        case .failure(let r): return r
        case .success(let s): return .bulk(s)
        }
    }

    func cmdSet(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        guard let o = KVSetOptions(a, from: 3, forSet: true) else { return KVReply.syntax }
        var d = noDeadline
        if let x = o.expire, let u = o.unit {
            switch Self.deadline(x, u, now: now, command: "set") {
            case .failure(let r): return r
            case .success(let v): d = v
            }
        }
        return setGeneric(a[1], a[2], nx: o.nx, xx: o.xx, get: o.get, keepTTL: o.keepTTL, deadline: d, now: now)
    }

    func cmdSetNX(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        setGeneric(a[1], a[2], nx: true, now: now, okReply: KVReply.one, abortReply: KVReply.zero)
    }

    func cmdSetEX(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { setEx(a, .ex, "setex", now) }
    func cmdPSetEX(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { setEx(a, .px, "psetex", now) }

    private func setEx(_ a: [[UInt8]], _ unit: KVExpireUnit, _ name: String, _ now: UInt64) -> RESPValue {
        switch Self.deadline(a[2], unit, now: now, command: name) {
        case .failure(let r): return r
        case .success(let d): return setGeneric(a[1], a[3], deadline: d, now: now)
        }
    }

    func cmdGetSet(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        setGeneric(a[1], a[2], get: true, now: now)
    }

    func cmdGetDel(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        guard let i = writable(a[1], now) else { return .null }
        guard case .string(let s) = entry(at: i).value else { return KVReply.wrongType }
        remove(at: i)
        return .bulk(s)
    }

    func cmdGetEX(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        guard let o = KVSetOptions(a, from: 2, forSet: false) else { return KVReply.syntax }
        guard let i = writable(a[1], now) else { return .null }
        guard case .string(let s) = entry(at: i).value else { return KVReply.wrongType }
        if let x = o.expire, let u = o.unit {
            switch Self.deadline(x, u, now: now, command: "getex") {
            case .failure(let r): return r
            case .success(let d):
                if d <= now { remove(at: i) } else { setDeadline(at: i, d) }
            }
        } else if o.persist {
            setDeadline(at: i, noDeadline)
        }
        return .bulk(s)
    }

    func cmdAppend(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        guard let i = writable(a[1], now) else {
            add(a[1], .string(a[2]))
            return .integer(Int64(a[2].count))
        }
        guard case .string(let s) = entry(at: i).value else { return KVReply.wrongType }
        if Int64(s.count) + Int64(a[2].count) > KVReply.maxStringLength { return KVReply.tooLarge }
        let n = mutateString(at: i) { s in s.append(contentsOf: a[2]); return s.count }
        return .integer(Int64(n))
    }

    func cmdStrlen(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        switch readString(a[1], now) {
        case .failure(let r): return r
        case .success(let s): return .integer(Int64(s?.count ?? 0))
        }
    }

    func cmdGetRange(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        guard let start = KVNumber.parseInt64(a[2]), let end = KVNumber.parseInt64(a[3]) else { return KVReply.notInteger }
        switch readString(a[1], now) {
        case .failure(let r): return r
        case .success(nil): return KVReply.emptyBulk
        case .success(let s?):
            guard let (f, l) = Self.stringRange(start, end, Int64(s.count)) else { return KVReply.emptyBulk }
            return .bulk(Array(s[f...l]))
        }
    }

    func cmdSetRange(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        guard let offset = KVNumber.parseInt64(a[2]) else { return KVReply.notInteger }
        if offset < 0 { return KVReply.offsetOutOfRange }
        let v = a[3]
        guard let i = writable(a[1], now) else {
            if v.isEmpty { return KVReply.zero }
            if offset + Int64(v.count) > KVReply.maxStringLength { return KVReply.tooLarge }
            var s = [UInt8](repeating: 0, count: Int(offset))
            s.append(contentsOf: v)
            add(a[1], .string(s))
            return .integer(Int64(s.count))
        }
        guard case .string(let old) = entry(at: i).value else { return KVReply.wrongType }
        if v.isEmpty { return .integer(Int64(old.count)) }
        if offset + Int64(v.count) > KVReply.maxStringLength { return KVReply.tooLarge }
        let n = mutateString(at: i) { s -> Int in
            let o = Int(offset)
            if s.count < o + v.count { s.append(contentsOf: repeatElement(0, count: o + v.count - s.count)) }
            s.replaceSubrange(o..<(o + v.count), with: v)
            return s.count
        }
        return .integer(Int64(n))
    }

    func cmdMGet(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        var out: [RESPValue] = []
        out.reserveCapacity(a.count - 1)
        for k in a.dropFirst() {
            if let e = live(k, now), case .string(let s) = e.value { out.append(.bulk(s)) } else { out.append(.null) }
        }
        return .array(out)
    }

    func cmdMSet(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        guard a.count % 2 == 1 else { return KVReply.arity("mset") }
        var j = 1
        while j < a.count {
            set(a[j], .string(a[j + 1]), keepTTL: false, now: now)
            j += 2
        }
        return .ok
    }

    func cmdMSetNX(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        guard a.count % 2 == 1 else { return KVReply.arity("msetnx") }
        var busy = false
        var j = 1
        while j < a.count {
            if writable(a[j], now) != nil { busy = true }
            j += 2
        }
        if busy { return KVReply.zero }
        j = 1
        while j < a.count {
            set(a[j], .string(a[j + 1]), keepTTL: false, now: now)
            j += 2
        }
        return KVReply.one
    }

    func cmdIncr(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { incrementBy(a[1], 1, now) }
    func cmdDecr(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { incrementBy(a[1], -1, now) }

    func cmdIncrBy(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        guard let d = KVNumber.parseInt64(a[2]) else { return KVReply.notInteger }
        return incrementBy(a[1], d, now)
    }

    func cmdDecrBy(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        guard let d = KVNumber.parseInt64(a[2]) else { return KVReply.notInteger }
        if d == Int64.min { return KVReply.decrementOverflow }
        return incrementBy(a[1], -d, now)
    }

    func cmdIncrByFloat(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        let i = writable(a[1], now)
        var current = KVFloat.decimal(mantissa: 0, exponent: 0)
        if let i {
            guard case .string(let s) = entry(at: i).value else { return KVReply.wrongType }
            guard let v = KVFloat.parse(s) else { return KVReply.notFloat }
            current = v
        }
        guard let incr = KVFloat.parse(a[2]) else { return KVReply.notFloat }
        guard case .success(let sum) = KVFloat.add(current, incr), current.isFinite else { return KVReply.nanOrInfinity }
        let text = sum.formatted
        if let i { replace(at: i, .string(text), keepTTL: true) } else { add(a[1], .string(text)) }
        return .bulk(text)
    }
}
