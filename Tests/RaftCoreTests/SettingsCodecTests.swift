import Testing
import RaftCore

/// Cluster settings live in config entries, snapshots and metadata files, so old encodings must
/// keep decoding to what they meant.
@Suite struct SettingsCodecTests {
    @Test(arguments: ApplyPolicy.allCases)
    func everyApplyPolicyRoundTrips(_ policy: ApplyPolicy) throws {
        var s = ClusterSettings()
        s.applyPolicy = policy
        let config = ClusterConfig(voters: ["a", "b"], settings: s)
        #expect(try ClusterConfig(decoding: config.encoded()) == config)
    }

    @Test func theDefaultPolicyIsReject() {
        #expect(ClusterSettings().applyPolicy == .reject)
        #expect(ClusterSettings.default.applyPolicy == .reject)
    }

    /// Version 1 carried a commands-idempotent flag: true meant retry, false meant halt.
    @Test(arguments: [(true, ApplyPolicy.retry), (false, ApplyPolicy.halt)])
    func versionOneFlagDecodesToItsPolicy(_ idempotent: Bool, _ policy: ApplyPolicy) throws {
        var w = ByteWriter()
        w.u8(1)
        for v in [UInt64(10_000_000), 150_000_000, 300_000_000, 20, 64] { w.varint(v) }
        w.bool(true)
        w.bool(true)
        w.bool(idempotent)
        w.varint(0)
        let config = try ClusterConfig(decoding: w.bytes)
        #expect(config.settings.applyPolicy == policy)
        #expect(config.settings.heartbeatPeriod == 10_000_000)
    }

    @Test func anUnknownPolicyIsRefused() {
        var bytes = ClusterConfig(voters: ["a"]).encoded()
        // The policy byte follows the version, five varints and two flags.
        var r = ByteReader(bytes)
        _ = try? r.u8()
        for _ in 0..<5 { _ = try? r.varint() }
        let at = bytes.count - r.remaining + 2
        bytes[at] = 9
        #expect(throws: WireError.unknownEnumValue("apply policy", 9)) { try ClusterConfig(decoding: bytes) }
    }

    @Test func policyNames() {
        #expect(ApplyPolicy.allCases.map(\.description) == ["reject", "retry", "halt"])
        #expect(ApplyPolicy(name: "retry") == .retry)
        #expect(ApplyPolicy(name: "idempotent") == nil)
    }
}
