import Testing
import RaftCore

/// `maxInflightBytes` (encoding version 3) and what older nodes can read.
@Suite struct InflightBytesSettingTests {
    @Test func defaultSettingsStayVersionTwoByteForByte() throws {
        let bytes = ClusterConfig(voters: ["a"]).encoded()
        #expect(bytes[0] == 2)
        #expect(try ClusterConfig(decoding: bytes).settings.maxInflightBytes == ClusterSettings.defaultMaxInflightBytes)
    }

    @Test(arguments: [UInt64(1), 4096, 1 << 40, UInt64.max])
    func aSetCapIsVersionThreeAndRoundTrips(_ cap: UInt64) throws {
        var s = ClusterSettings()
        s.maxInflightBytes = cap
        let config = ClusterConfig(voters: ["a", "b"], settings: s)
        let bytes = config.encoded()
        #expect(bytes[0] == 3)
        #expect(try ClusterConfig(decoding: bytes) == config)
    }

    @Test func zeroIsRefused() {
        var s = ClusterSettings()
        s.maxInflightBytes = 0
        #expect(s.validationError() == "max inflight bytes must be at least 1")
        s.maxInflightBytes = 1
        #expect(s.validationError() == nil)
    }

    @Test func anUnknownVersionIsRefused() {
        var bytes = ClusterConfig(voters: ["a"]).encoded()
        bytes[0] = 4
        #expect(throws: WireError.unknownVersion(4)) { try ClusterConfig(decoding: bytes) }
    }
}
