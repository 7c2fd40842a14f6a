import Testing
import RaftCore

/// Typed errors cross the wire in membership answers: every case survives the codec, and the
/// answer's frame version is the one that carries them.
@Suite struct ErrorCodecTests {
    static let all: [RaftError] = [
        .logBroken, .invalidSettings("x"), .corruptConfigEntry(9), .storage("disk"), .notLeader(leader: "n1", address: "h:1"),
        .notLeader(leader: nil, address: ""), .commandTooLarge(size: 10, max: 5), .changeInProgress, .transferInProgress,
        .alreadyLeader, .unknownNode("n9"), .alreadyMember("n2"), .alreadyVoter("n2"), .lastVoter, .emptyNodeID,
        .catchUpFailed("n4", rounds: 10), .additionTimedOut("n4"), .leaderSteppedDown, .transferTimedOut("n2"),
        .termNotCommitted, .wrongThread, .stopped,
    ]

    @Test(arguments: all)
    func everyErrorRoundTrips(_ e: RaftError) throws {
        let m = Message(from: "a", to: "b", term: 0, body: .membershipChangeResponse(MembershipChangeResponse(op: .add, memberID: "b", error: e)))
        let bytes = MessageCodec.encode(m)
        #expect(bytes[0] == 2)
        #expect(try MessageCodec.decode(bytes) == m)
    }

    @Test func otherMessagesStayVersionOne() {
        let m = Message(from: "a", to: "b", term: 1, body: .appendEntries(AppendEntries(prevIndex: 0, prevTerm: 0, commitIndex: 0)))
        #expect(MessageCodec.encode(m)[0] == 1)
    }

    /// A version-1 membership answer (its reason as text) is not understood; the asker retries.
    @Test func aVersionOneMembershipAnswerIsRefused() {
        var w = ByteWriter()
        w.u8(1); w.u8(11); w.string("a"); w.string("b"); w.varint(0)
        w.u8(0); w.string("b"); w.bool(false); w.string("not leader")
        #expect(throws: WireError.unknownVersion(1)) { try MessageCodec.decode(w.bytes) }
    }

    @Test func descriptionsNameWhatWentWrong() {
        #expect(RaftError.notLeader(leader: "n1", address: "").description == "not the leader (leader is n1)")
        #expect(RaftError.notLeader(leader: nil, address: "").description == "not the leader; no leader known")
        #expect(RaftError.commandTooLarge(size: 10, max: 5).description == "command of 10 bytes exceeds the maximum of 5")
    }
}
