/// Number parsing and formatting with Redis's rules, in pure integer code so every replica on
/// every CPU reads and writes the same bytes.
enum KVNumber {
    /// Redis's `string2ll`: an optional `-`, then `0` alone or a digit 1-9 followed by digits,
    /// within Int64, at most 20 bytes. Refuses `+1`, `01`, `-0`, spaces and everything else.
    static func parseInt64(_ s: [UInt8]) -> Int64? {
        let n = s.count
        guard n > 0, n < 21 else { return nil }
        if n == 1 && s[0] == 48 { return 0 }
        var i = 0
        var negative = false
        if s[0] == 45 {
            negative = true
            i = 1
            if i == n { return nil }
        }
        guard s[i] >= 49 && s[i] <= 57 else { return nil }
        var v = UInt64(s[i] - 48)
        i += 1
        while i < n {
            let d = s[i]
            guard d >= 48 && d <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d - 48))
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        if negative {
            if v > UInt64(Int64.max) + 1 { return nil }
            return v == UInt64(Int64.max) + 1 ? Int64.min : -Int64(v)
        }
        if v > UInt64(Int64.max) { return nil }
        return Int64(v)
    }

    /// The decimal text of an integer, as bytes.
    @inline(__always)
    static func bytes(_ n: Int64) -> [UInt8] { Array(String(n).utf8) }

    /// A SCAN cursor, as C's `strtoul` reads it: optional sign (a negative number wraps, as in
    /// Redis), decimal digits, nothing after them, within 64 bits.
    static func parseCursor(_ s: [UInt8]) -> UInt64? {
        var i = 0
        var negative = false
        if i < s.count && (s[i] == 43 || s[i] == 45) { negative = s[i] == 45; i += 1 }
        guard i < s.count else { return nil }
        var v: UInt64 = 0
        while i < s.count {
            let d = s[i]
            guard d >= 48 && d <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d - 48))
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        return negative ? 0 &- v : v
    }
}

/// A number as INCRBYFLOAT and HINCRBYFLOAT read one. Redis computes in the x87's 80-bit long
/// double and prints `%.17Lf` with trailing zeros removed; that hardware type exists only on
/// x86, so replicas on other CPUs could not agree with it. RaftKV adds exactly in decimal
/// (`mantissa × 10^exponent`, 38 digits), which gives what Redis prints for ordinary values
/// ("10.5" + "0.1" is "10.6", "0.1" + "0.2" is "0.3"), and falls back to IEEE double, the same
/// on every CPU, for operands beyond 38 digits.
enum KVFloat: Equatable {
    case decimal(mantissa: Int128, exponent: Int)
    case double(Double)

    enum Failure: Error { case invalid, notFinite }

    /// Parses what Redis's `string2ld` (strtold) accepts: no leading space, an optional sign,
    /// digits with an optional point and exponent, or inf/infinity. NaN is refused. Hexadecimal
    /// floats (which strtold also reads) are refused.
    static func parse(_ s: [UInt8]) -> KVFloat? {
        let n = s.count
        guard n > 0, n < 5120 else { return nil }
        var i = 0
        var negative = false
        if s[0] == 43 || s[0] == 45 { negative = s[0] == 45; i = 1 }
        guard i < n else { return nil }
        // inf / infinity, any case.
        if s[i] | 0x20 == 105 {
            let rest = s[i...].map { $0 | 0x20 }
            if rest == Array("inf".utf8) || rest == Array("infinity".utf8) {
                return .double(negative ? -.infinity : .infinity)
            }
            return nil
        }
        var mantissa: Int128 = 0
        var significant = 0
        var digits = 0
        var exponent = 0
        var overflowed = false
        var sawPoint = false
        while i < n {
            let c = s[i]
            if c >= 48 && c <= 57 {
                digits += 1
                if sawPoint { exponent -= 1 }
                if mantissa != 0 || c != 48 {
                    if significant < 38 {
                        mantissa = mantissa * 10 + Int128(c - 48)
                        significant += 1
                    } else {
                        // A dropped digit: one more power of ten (before the point), or the
                        // place counted above not taken (after it).
                        overflowed = true
                        exponent += 1
                    }
                }
            } else if c == 46 && !sawPoint {
                sawPoint = true
            } else {
                break
            }
            i += 1
        }
        guard digits > 0 else { return nil }
        if i < n {
            guard s[i] == 101 || s[i] == 69 else { return nil }
            i += 1
            var expNegative = false
            if i < n && (s[i] == 43 || s[i] == 45) { expNegative = s[i] == 45; i += 1 }
            guard i < n else { return nil }
            var e = 0
            while i < n {
                let c = s[i]
                guard c >= 48 && c <= 57 else { return nil }
                if e < 1_000_000 { e = e * 10 + Int(c - 48) }
                i += 1
            }
            exponent += expNegative ? -e : e
        }
        if mantissa == 0 { return .decimal(mantissa: 0, exponent: 0) }
        // strtold's range: out-of-range values are ERANGE, which Redis refuses.
        let magnitude = exponent + significant - 1
        guard magnitude <= 4932, magnitude >= -4951 else { return nil }
        if overflowed {
            // More than 38 significant digits: let the standard library round the text.
            guard let d = Double(String(decoding: s, as: UTF8.self)), d.isFinite else { return nil }
            return .double(d)
        }
        return .decimal(mantissa: negative ? -mantissa : mantissa, exponent: exponent)
    }

    var isFinite: Bool {
        if case .double(let d) = self { return d.isFinite }
        return true
    }

    var asDouble: Double {
        switch self {
        case .double(let d): return d
        case .decimal(let m, let e): return Double("\(m)e\(e)") ?? .nan
        }
    }

    private static func normalized(_ m: Int128, _ e: Int) -> (Int128, Int) {
        var m = m, e = e
        if m == 0 { return (0, 0) }
        while m % 10 == 0 { m /= 10; e += 1 }
        return (m, e)
    }

    private static func digitCount(_ m: Int128) -> Int {
        var v = m.magnitude, n = 0
        while v > 0 { v /= 10; n += 1 }
        return n
    }

    private static func pow10(_ k: Int) -> Int128? {
        guard k >= 0, k <= 38 else { return nil }
        var p: Int128 = 1
        for _ in 0..<k { p *= 10 }
        return p
    }

    /// `a + b`; `.notFinite` when the sum overflows to infinity (Redis: "increment would
    /// produce NaN or Infinity").
    static func add(_ a: KVFloat, _ b: KVFloat) -> Result<KVFloat, Failure> {
        if case .decimal(let m1, let e1) = a, case .decimal(let m2, let e2) = b {
            let (n1, x1) = normalized(m1, e1)
            let (n2, x2) = normalized(m2, e2)
            if n1 == 0 { return .success(.decimal(mantissa: n2, exponent: x2)) }
            if n2 == 0 { return .success(.decimal(mantissa: n1, exponent: x1)) }
            // Operands more than 38 digits apart: the smaller is below any precision kept
            // (long double keeps about 19 digits), so the sum is the larger.
            let mag1 = x1 + digitCount(n1), mag2 = x2 + digitCount(n2)
            if mag1 - mag2 > 38 && x2 < x1 { return .success(.decimal(mantissa: n1, exponent: x1)) }
            if mag2 - mag1 > 38 && x1 < x2 { return .success(.decimal(mantissa: n2, exponent: x2)) }
            let e = min(x1, x2)
            if let p1 = pow10(x1 - e), let p2 = pow10(x2 - e) {
                let (s1, o1) = n1.multipliedReportingOverflow(by: p1)
                let (s2, o2) = n2.multipliedReportingOverflow(by: p2)
                if !o1 && !o2 {
                    let (sum, o3) = s1.addingReportingOverflow(s2)
                    if !o3 { return .success(.decimal(mantissa: sum, exponent: e)) }
                }
            }
        }
        let sum = a.asDouble + b.asDouble
        guard sum.isFinite else { return .failure(.notFinite) }
        return .success(.double(sum))
    }

    /// Redis's `%.17Lf` with trailing zeros (and a bare point) removed, and "-0" printed "0".
    var formatted: [UInt8] {
        var negative: Bool
        var magnitude: UInt128
        var exponent: Int
        switch self {
        case .decimal(let m, let e):
            negative = m < 0
            magnitude = m.magnitude
            exponent = e
        case .double(let d):
            // The shortest digits that read back as d, placed without an exponent.
            negative = d.sign == .minus
            let text = Array(String(d.magnitude).utf8)
            var digitsPart: [UInt8] = []
            var e = 0
            var afterPoint = 0
            var sawPoint = false
            var j = 0
            while j < text.count && text[j] != 101 {
                if text[j] == 46 { sawPoint = true } else {
                    digitsPart.append(text[j])
                    if sawPoint { afterPoint += 1 }
                }
                j += 1
            }
            if j < text.count {
                var k = j + 1
                var en = false
                if text[k] == 43 || text[k] == 45 { en = text[k] == 45; k += 1 }
                var v = 0
                while k < text.count { v = v * 10 + Int(text[k] - 48); k += 1 }
                e = en ? -v : v
            }
            var m: UInt128 = 0
            for c in digitsPart { m = m * 10 + UInt128(c - 48) }
            magnitude = m
            exponent = e - afterPoint
        }
        // Round to 17 places after the point, half to even.
        if exponent < -17 {
            let drop = -17 - exponent
            if drop > 38 {
                magnitude = 0
            } else {
                var p: UInt128 = 1
                for _ in 0..<drop { p *= 10 }
                let q = magnitude / p
                let r = magnitude % p
                let half = p / 2
                magnitude = (r > half || (r == half && q % 2 == 1)) ? q + 1 : q
            }
            exponent = -17
        }
        var out: [UInt8] = []
        if magnitude == 0 { return Array("0".utf8) }
        if negative { out.append(45) }
        let digits = Array(String(magnitude).utf8)
        if exponent >= 0 {
            out.append(contentsOf: digits)
            out.append(contentsOf: repeatElement(48, count: exponent))
            return out
        }
        let frac = -exponent
        if digits.count > frac {
            out.append(contentsOf: digits[..<(digits.count - frac)])
            var tail = Array(digits[(digits.count - frac)...])
            while tail.last == 48 { tail.removeLast() }
            if !tail.isEmpty { out.append(46); out.append(contentsOf: tail) }
        } else {
            var tail = Array(repeating: UInt8(48), count: frac - digits.count) + digits
            while tail.last == 48 { tail.removeLast() }
            out.append(48)
            if !tail.isEmpty { out.append(46); out.append(contentsOf: tail) }
        }
        return out
    }
}
