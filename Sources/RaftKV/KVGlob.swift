/// Redis's glob matching (`stringmatchlen` in util.c), ported step for step so KEYS and SCAN
/// MATCH select exactly what Redis selects:
/// - `*` any run of bytes, `?` one byte,
/// - `[abc]`, `[^abc]`, `[a-z]` (a reversed range is swapped), `\` escapes inside brackets,
/// - `\x` matches x literally; every other byte matches itself (case-sensitive).
/// An unterminated `[` ends the class at the pattern's end. As in Redis, `*` does not match the
/// empty string except where KEYS/SCAN short-circuit the pattern "*".
public enum KVGlob {
    public static func matches(_ pattern: [UInt8], _ string: [UInt8]) -> Bool {
        var skipLonger = false
        return pattern.withUnsafeBufferPointer { p in
            string.withUnsafeBufferPointer { s in
                match(p, 0, s, 0, &skipLonger)
            }
        }
    }

    /// The byte at i, or 0 past the end (the C code reads the string's terminating NUL).
    @inline(__always)
    private static func at(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt8 {
        i < b.count ? b[i] : 0
    }

    private static func match(_ pat: UnsafeBufferPointer<UInt8>, _ p0: Int,
                              _ str: UnsafeBufferPointer<UInt8>, _ s0: Int,
                              _ skipLonger: inout Bool) -> Bool {
        var p = p0
        var s = s0
        var patternLen = pat.count - p
        var stringLen = str.count - s
        while patternLen > 0 && stringLen > 0 {
            switch pat[p] {
            case UInt8(ascii: "*"):
                while patternLen > 0 && at(pat, p + 1) == UInt8(ascii: "*") {
                    p += 1; patternLen -= 1
                }
                if patternLen == 1 { return true }
                while stringLen > 0 {
                    if match(pat, p + 1, str, s, &skipLonger) { return true }
                    if skipLonger { return false }
                    s += 1; stringLen -= 1
                }
                skipLonger = true
                return false
            case UInt8(ascii: "?"):
                s += 1; stringLen -= 1
            case UInt8(ascii: "["):
                p += 1; patternLen -= 1
                let not = at(pat, p) == UInt8(ascii: "^")
                if not { p += 1; patternLen -= 1 }
                var matched = false
                while true {
                    if at(pat, p) == UInt8(ascii: "\\") && patternLen >= 2 {
                        p += 1; patternLen -= 1
                        if at(pat, p) == str[s] { matched = true }
                    } else if at(pat, p) == UInt8(ascii: "]") {
                        break
                    } else if patternLen == 0 {
                        p -= 1; patternLen += 1
                        break
                    } else if patternLen >= 3 && at(pat, p + 1) == UInt8(ascii: "-") {
                        // C compares these as (signed) chars.
                        var lo = Int8(bitPattern: at(pat, p))
                        var hi = Int8(bitPattern: at(pat, p + 2))
                        let c = Int8(bitPattern: str[s])
                        if lo > hi { swap(&lo, &hi) }
                        p += 2; patternLen -= 2
                        if c >= lo && c <= hi { matched = true }
                    } else if at(pat, p) == str[s] {
                        matched = true
                    }
                    p += 1; patternLen -= 1
                }
                if not { matched = !matched }
                if !matched { return false }
                s += 1; stringLen -= 1
            case UInt8(ascii: "\\"):
                if patternLen >= 2 { p += 1; patternLen -= 1 }
                if pat[p] != str[s] { return false }
                s += 1; stringLen -= 1
            default:
                if pat[p] != str[s] { return false }
                s += 1; stringLen -= 1
            }
            p += 1; patternLen -= 1
            if stringLen == 0 {
                while at(pat, p) == UInt8(ascii: "*") && patternLen > 0 { p += 1; patternLen -= 1 }
                break
            }
        }
        return patternLen == 0 && stringLen == 0
    }
}
