import Testing
import RaftCore

@Suite struct ClusterConfigCodecTests {
    @Test func roundTrip() throws {
        var s = ClusterSettings()
        s.maxEntriesPerMessage = 7
        s.preVote = false
        let c = ClusterConfig(members: [Member(id: "a", address: "127.0.0.1:1"), Member(id: "b", isVoter: false)], settings: s)
        #expect(try ClusterConfig(decoding: c.encoded()) == c)
    }

    @Test func truncatedConfigIsAnError() {
        let bytes = ClusterConfig(voters: ["x", "y"]).encoded()
        for n in 0..<bytes.count {
            #expect(throws: WireError.self) { try ClusterConfig(decoding: Array(bytes[0..<n])) }
        }
    }
}
