/// Redis Cluster's key slot: CRC16 (XMODEM: polynomial 0x1021, initial value 0) of the key, or
/// of its hash tag, modulo 16384. The hash tag is the part between the first `{` and the first
/// `}` after it, when that part is not empty, so `{user1000}.following` and
/// `{user1000}.followers` share a slot.
public enum KVKeySlot {
    public static let count = 16384

    private static let table: [UInt16] = (0..<256).map { i -> UInt16 in
        var crc = UInt16(i) << 8
        for _ in 0..<8 {
            crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }

    public static func crc16(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        table.withUnsafeBufferPointer { t in
            for b in bytes {
                crc = (crc << 8) ^ t[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ b)]
            }
        }
        return crc
    }

    public static func slot(_ key: [UInt8]) -> UInt16 {
        key.withUnsafeBufferPointer { k in
            var start = -1
            for i in 0..<k.count where k[i] == UInt8(ascii: "{") { start = i; break }
            if start >= 0 {
                var end = -1
                var j = start + 1
                while j < k.count {
                    if k[j] == UInt8(ascii: "}") { end = j; break }
                    j += 1
                }
                if end > start + 1 {
                    return crc16(UnsafeBufferPointer(rebasing: k[(start + 1)..<end])) & 0x3FFF
                }
            }
            return crc16(k) & 0x3FFF
        }
    }
}
