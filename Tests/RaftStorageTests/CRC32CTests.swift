import Testing
@testable import RaftStorage

@Suite struct CRC32CTests {
    @Test func knownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        // RFC 3720 (iSCSI), appendix B.4.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
    }

    /// Every split exercises the eight-byte loop and the byte-at-a-time tail on both sides.
    @Test func incrementalUpdatesMatchOneShot() {
        let bytes = (0..<77).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let whole = CRC32C.checksum(bytes)
        for split in 0...bytes.count {
            var crc = CRC32C()
            crc.update(bytes[0..<split])
            crc.update(bytes[split...])
            #expect(crc.value == whole, "split at \(split)")
        }
    }

    /// The CPU instruction path (when this machine has it) and the table path agree on every
    /// length and alignment.
    @Test func hardwareAndPortableAgree() {
        let bytes = (0..<600).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        for start in 0..<9 {
            for length in [0, 1, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 255, 500] {
                expectPathsAgree(bytes[start..<(start + length)], "start \(start) length \(length)")
            }
        }
    }

    /// Buffers long enough for the three interleaved streams (12 KiB a round, joined by a
    /// table shift): every length around a round's edges, at odd starts, and incrementally
    /// in pieces that cut rounds apart.
    @Test func longBuffersAgreeWithTheTablePath() {
        let bytes = (0..<40_000).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
        let round = 3 * 4096
        var lengths = [round - 1, round, round + 1, 2 * round - 8, 2 * round + 7, 3 * round + 3, 39_000]
        lengths += (0..<12).map { 97 * $0 * $0 % 39_000 }
        for start in [0, 1, 5] {
            for length in lengths {
                expectPathsAgree(bytes[start..<(start + length)], "start \(start) length \(length)")
            }
        }
        var pieces = CRC32C()
        var at = 0
        for size in [5, 12_300, 1, 12_000, 4_096, 9_000] {
            pieces.update(bytes[at..<(at + size)])
            at += size
        }
        #expect(pieces.value == CRC32C.checksum(Array(bytes[0..<at])))
    }

    /// The CPU instruction path (when there is one) and the table path give `slice` one value.
    func expectPathsAgree(_ slice: ArraySlice<UInt8>, _ comment: Comment) {
        var fast = CRC32C()
        fast.update(slice)
        var portable = CRC32C()
        slice.withUnsafeBytes { portable.updatePortable($0) }
        #expect(fast.value == portable.value, comment)
    }
}
