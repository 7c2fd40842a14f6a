/// A command name folded to upper case and packed with its length into 16 bytes: a table key
/// that costs no allocation to build (names are ASCII, at most 15 bytes; Redis compares them
/// case-insensitively). nil for an empty or longer name, which no command has.
public struct KVCommandName: Hashable, Sendable {
    var lo: UInt64
    var hi: UInt64

    @inline(__always)
    public init?(_ name: UnsafeBufferPointer<UInt8>) {
        let n = name.count
        guard n > 0, n <= 15 else { return nil }
        var lo: UInt64 = 0, hi = UInt64(n) << 56
        for i in 0..<n {
            var c = name[i]
            if c >= 97 && c <= 122 { c -= 32 }
            if i < 8 { lo |= UInt64(c) << (8 * UInt64(i)) } else { hi |= UInt64(c) << (8 * UInt64(i - 8)) }
        }
        self.lo = lo
        self.hi = hi
    }

    @inline(__always)
    public init?(_ name: [UInt8]) {
        guard let k = name.withUnsafeBufferPointer({ KVCommandName($0) }) else { return nil }
        self = k
    }

    public init?(_ name: String) { self.init(Array(name.utf8)) }
}

/// A fixed set of command names and their positions, looked up with a multiply and a probe or
/// two (a Dictionary would run SipHash over the 16 bytes on every request).
public struct KVCommandNameTable: Sendable {
    private let names: [KVCommandName]
    private let slots: [Int16]
    private let shift: UInt64

    /// `names` must be distinct; `index(of:)` gives a name's position in it.
    public init(_ names: [KVCommandName]) {
        var bits: UInt64 = 4
        while (1 << bits) < names.count * 4 { bits += 1 }
        var slots = [Int16](repeating: -1, count: 1 << bits)
        let shift = 64 - bits
        for (i, k) in names.enumerated() {
            var h = Int(Self.hash(k) >> shift)
            while slots[h] >= 0 { h = (h + 1) & (slots.count - 1) }
            slots[h] = Int16(i)
        }
        self.names = names
        self.slots = slots
        self.shift = shift
    }

    @inline(__always)
    private static func hash(_ k: KVCommandName) -> UInt64 {
        (k.lo &* 0x9E37_79B9_7F4A_7C15) ^ (k.hi &* 0xC2B2_AE3D_27D4_EB4F)
    }

    @inline(__always)
    public func index(of k: KVCommandName) -> Int? {
        let mask = slots.count - 1
        var h = Int(Self.hash(k) >> shift)
        while true {
            let i = Int(slots[h])
            if i < 0 { return nil }
            if names[i] == k { return i }
            h = (h + 1) & mask
        }
    }

    public func contains(_ k: KVCommandName) -> Bool { index(of: k) != nil }
}
