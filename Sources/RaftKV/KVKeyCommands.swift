// Keyspace commands: DEL, EXISTS, KEYS, SCAN, TYPE, RENAME, the EXPIRE and TTL families,
// PERSIST, DBSIZE, FLUSHDB/FLUSHALL, PING, ECHO.

extension KVStore {
    func cmdDel(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        var n: Int64 = 0
        for k in a.dropFirst() {
            if let i = writable(k, now) {
                remove(at: i)
                n += 1
            }
        }
        return .integer(n)
    }

    /// EXISTS and TOUCH: live keys named, a key named twice counted twice.
    func cmdExists(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        var n: Int64 = 0
        for k in a.dropFirst() where live(k, now) != nil { n += 1 }
        return .integer(n)
    }

    /// Matching live keys, in byte order (Redis's order is its hash table's).
    func cmdKeys(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        let pattern = a[1]
        let all = pattern == [UInt8(ascii: "*")]
        var out: [[UInt8]] = []
        forEach { k, e in
            if now < e.deadline && (all || KVGlob.matches(pattern, k)) { out.append(k) }
        }
        out.sort { kvLess($0, $1) }
        return .array(out.map { .bulk($0) })
    }

    /// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. The cursor is the next cluster
    /// slot to visit (0 starts, 0 returned means done). A call visits whole slots until it has
    /// looked at COUNT keys or passed the last slot, then filters by expiry, MATCH and TYPE, so
    /// a reply may hold more keys than COUNT (all of a slot) or none. A key present from the
    /// first call to the last is returned exactly once; one added or removed meanwhile may be
    /// returned or not. The cursor means the same on every replica.
    func cmdScan(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        guard let cursor = KVNumber.parseCursor(a[1]) else { return KVReply.invalidCursor }
        var count = 10
        var pattern: [UInt8]?
        var type: [UInt8]?
        var j = 2
        while j < a.count {
            let more = a.count - j >= 2
            if kvIs(a[j], "count") && more {
                guard let c = KVNumber.parseInt64(a[j + 1]) else { return KVReply.notInteger }
                if c < 1 { return KVReply.syntax }
                count = Int(clamping: c)
                j += 2
            } else if kvIs(a[j], "match") && more {
                pattern = a[j + 1] == [UInt8(ascii: "*")] ? nil : a[j + 1]
                j += 2
            } else if kvIs(a[j], "type") && more {
                type = a[j + 1]
                j += 2
            } else {
                return KVReply.syntax
            }
        }
        var slot = cursor < UInt64(KVKeySlot.count) ? Int(cursor) : KVKeySlot.count
        var visited = 0
        var batch: [[UInt8]] = []
        while slot < KVKeySlot.count && visited < count {
            let n = Int(slots.counts[slot])
            if n > 0 {
                for k in slots.keys(inSlot: slot) {
                    visited += 1
                    guard let e = live(k, now) else { continue }
                    if let p = pattern, !KVGlob.matches(p, k) { continue }
                    if let t = type, !kvEqualFolded(t, e.value.typeName) { continue }
                    batch.append(k)
                }
            }
            slot += 1
        }
        batch.sort { kvLess($0, $1) }
        let next = slot >= KVKeySlot.count ? 0 : slot
        return .array([.bulk(String(next)), .array(batch.map { .bulk($0) })])
    }

    func cmdType(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        .simple(live(a[1], now)?.value.typeName ?? "none")
    }

    func cmdRename(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { rename(a, now, nx: false) }
    func cmdRenameNX(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { rename(a, now, nx: true) }

    private func rename(_ a: [[UInt8]], _ now: UInt64, nx: Bool) -> RESPValue {
        let src = a[1], dst = a[2]
        guard let i = writable(src, now) else { return KVReply.noSuchKey }
        if src == dst { return nx ? KVReply.zero : .ok }
        let e = entry(at: i)
        if let j = writable(dst, now) {
            if nx { return KVReply.zero }
            remove(at: j)
        }
        // Indices moved with the removal above: look the source up again.
        if let i2 = index(of: src) { remove(at: i2) }
        add(dst, e.value, deadline: e.deadline)
        return nx ? KVReply.one : .ok
    }

    /// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX|XX|GT|LT] (expireGenericCommand).
    func expireGeneric(_ a: [[UInt8]], _ now: UInt64, relative: Bool, seconds: Bool, name: String) -> RESPValue {
        var nx = false, xx = false, gt = false, lt = false
        for o in a.dropFirst(3) {
            if kvIs(o, "nx") { nx = true }
            else if kvIs(o, "xx") { xx = true }
            else if kvIs(o, "gt") { gt = true }
            else if kvIs(o, "lt") { lt = true }
            else { return .error("ERR Unsupported option \(String(decoding: o, as: UTF8.self))") }
        }
        if nx && (xx || gt || lt) {
            return .error("ERR NX and XX, GT or LT options at the same time are not compatible")
        }
        if gt && lt { return .error("ERR GT and LT options at the same time are not compatible") }
        guard var when = KVNumber.parseInt64(a[2]) else { return KVReply.notInteger }
        if seconds {
            if when > Int64.max / 1000 || when < Int64.min / 1000 { return KVReply.invalidExpire(name) }
            when *= 1000
        }
        let base: Int64 = relative ? Int64(clamping: now) : 0
        if when > Int64.max - base { return KVReply.invalidExpire(name) }
        when += base
        guard let i = writable(a[1], now) else { return KVReply.zero }
        let d = entry(at: i).deadline
        let current: Int64 = d == noDeadline ? -1 : Int64(d)
        if nx && current != -1 { return KVReply.zero }
        if xx && current == -1 { return KVReply.zero }
        if gt && (when <= current || current == -1) { return KVReply.zero }
        if lt && current != -1 && when >= current { return KVReply.zero }
        if when <= Int64(clamping: now) {
            remove(at: i)
        } else {
            setDeadline(at: i, UInt64(when))
        }
        return KVReply.one
    }

    func cmdExpire(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { expireGeneric(a, now, relative: true, seconds: true, name: "expire") }
    func cmdPExpire(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { expireGeneric(a, now, relative: true, seconds: false, name: "pexpire") }
    func cmdExpireAt(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { expireGeneric(a, now, relative: false, seconds: true, name: "expireat") }
    func cmdPExpireAt(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { expireGeneric(a, now, relative: false, seconds: false, name: "pexpireat") }

    /// TTL / PTTL / EXPIRETIME / PEXPIRETIME: -2 no key, -1 no deadline.
    func ttlGeneric(_ a: [[UInt8]], _ now: UInt64, ms: Bool, absolute: Bool) -> RESPValue {
        guard let e = live(a[1], now) else { return .integer(-2) }
        if e.deadline == noDeadline { return .integer(-1) }
        var t = absolute ? Int64(e.deadline) : Int64(e.deadline) - Int64(clamping: now)
        if t < 0 { t = 0 }
        return .integer(ms ? t : Int64((UInt64(t) + 500) / 1000))
    }

    func cmdTTL(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { ttlGeneric(a, now, ms: false, absolute: false) }
    func cmdPTTL(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { ttlGeneric(a, now, ms: true, absolute: false) }
    func cmdExpireTime(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { ttlGeneric(a, now, ms: false, absolute: true) }
    func cmdPExpireTime(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { ttlGeneric(a, now, ms: true, absolute: true) }

    func cmdPersist(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        guard let i = writable(a[1], now), entry(at: i).deadline != noDeadline else { return KVReply.zero }
        setDeadline(at: i, noDeadline)
        return KVReply.one
    }

    /// Keys stored, including any past their deadline that no write or sweep has removed yet
    /// (as Redis's DBSIZE counts them).
    func cmdDBSize(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { .integer(Int64(count)) }

    func cmdFlush(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        if a.count > 2 { return KVReply.syntax }
        if a.count == 2 && !kvIs(a[1], "sync") && !kvIs(a[1], "async") { return KVReply.syntax }
        removeAll()
        return .ok
    }

    func cmdPing(_ a: [[UInt8]], _ now: UInt64) -> RESPValue {
        a.count == 1 ? KVReply.pong : .bulk(a[1])
    }

    func cmdEcho(_ a: [[UInt8]], _ now: UInt64) -> RESPValue { .bulk(a[1]) }
}

/// ASCII case-insensitive equality of bytes and a lowercase name.
func kvEqualFolded(_ a: [UInt8], _ lower: String) -> Bool {
    let l = Array(lower.utf8)
    guard a.count == l.count else { return false }
    for i in 0..<a.count {
        var c = a[i]
        if c >= 65 && c <= 90 { c += 32 }
        if c != l[i] { return false }
    }
    return true
}
