import Testing
import RaftCore

/// Returns the decode error, or nil when the bytes decode.
private func decodeFailure(_ bytes: [UInt8]) -> WireError? {
    do {
        _ = try MessageCodec.decode(bytes)
        return nil
    } catch {
        return error
    }
}

private func varint(_ v: UInt64) -> [UInt8] {
    var w = ByteWriter()
    w.varint(v)
    return w.bytes
}

/// One message of every body type, with values chosen to exercise multi-byte varints, the
/// UInt64 extremes, unicode strings and empty as well as non-empty data.
private let samples: [Message] = {
    let max = UInt64.max
    var settings = ClusterSettings()
    settings.maxEntriesPerMessage = UInt32.max
    settings.preVote = false
    let config = ClusterConfig(members: [
        Member(id: "nœud-1", address: "[::1]:7001"),
        Member(id: "节点-2", address: "10.0.0.2:7002"),
        Member(id: "🦊", address: "", isVoter: false),
    ], settings: settings)
    let bigData = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    let entries = [
        Entry(index: 1, term: 1, kind: .termStart),
        Entry(index: 2, term: 1, kind: .command, data: [0x00, 0xff, 0x80]),
        Entry(index: 3, term: 2, kind: .config, data: config.encoded()),
        Entry(index: 200, term: 129, kind: .command, data: []),
        Entry(index: max, term: max, kind: .command, data: bigData),
    ]
    let a = "nœud-1", b = "节点-2"
    return [
        Message(from: a, to: b, term: max, body: .preVote(VoteRequest(lastIndex: max, lastTerm: max - 1, authorized: true))),
        Message(from: b, to: a, term: 7, body: .preVoteResponse(VoteResponse(granted: true))),
        Message(from: a, to: "🦊", term: 128, body: .requestVote(VoteRequest(lastIndex: 16_384, lastTerm: 127))),
        Message(from: "🦊", to: a, term: 128, body: .requestVoteResponse(VoteResponse(granted: false))),
        Message(from: a, to: b, term: 3, body: .appendEntries(AppendEntries(
            prevIndex: 0, prevTerm: 0, entries: entries, commitIndex: 2, context: max))),
        Message(from: "", to: "", term: 0, body: .appendEntries(AppendEntries(prevIndex: max, prevTerm: 5, commitIndex: max))),
        Message(from: b, to: a, term: 3, body: .appendResponse(AppendResponse(
            success: false, index: 900, lastIndex: 1 << 40, hintIndex: 300, hintTerm: 2, context: max))),
        Message(from: b, to: a, term: 3, body: .appendResponse(AppendResponse(success: true, index: max, lastIndex: max))),
        Message(from: a, to: "🦊", term: 9, body: .installSnapshot(InstallSnapshot(
            meta: SnapshotMeta(index: 1_000_000, term: 8, config: config), offset: max, data: bigData, done: true))),
        Message(from: a, to: "🦊", term: 9, body: .installSnapshot(InstallSnapshot(
            meta: SnapshotMeta(index: 0, term: 0, config: ClusterConfig(members: [])), offset: 0, data: [], done: false))),
        Message(from: "🦊", to: a, term: 9, body: .installSnapshotResponse(InstallSnapshotResponse(
            index: 1_000_000, offset: max, success: true))),
        Message(from: a, to: b, term: 11, body: .timeoutNow(TimeoutNow(lastIndex: max, lastTerm: 11))),
        Message(from: "🦊", to: a, term: 0, body: .membershipChange(MembershipChange(
            op: .add, member: Member(id: "🦊", address: "fox.example:7003", isVoter: false)))),
        Message(from: a, to: b, term: 0, body: .membershipChange(MembershipChange(op: .promote, member: Member(id: "🦊")))),
        Message(from: a, to: b, term: 0, body: .membershipChange(MembershipChange(op: .remove, member: Member(id: b, address: "")))),
        Message(from: b, to: "🦊", term: 0, body: .membershipChangeResponse(MembershipChangeResponse(
            op: .add, memberID: "🦊", error: .notLeader(leader: "nœud-1", address: "réessayez:7001")))),
        Message(from: b, to: a, term: 0, body: .membershipChangeResponse(MembershipChangeResponse(
            op: .promote, memberID: "🦊"))),
    ]
}()

private let encodedSamples = samples.map(MessageCodec.encode)

/// Random well-formed messages: the round trip must hold for values no one thought to pick.
private struct MessageGenerator {
    var rng: SplitMix64

    mutating func below(_ n: UInt64) -> UInt64 { rng.next() % n }
    mutating func flag() -> Bool { rng.next() & 1 == 1 }

    /// Mostly small numbers, like real indexes and terms, with the extremes mixed in.
    mutating func number() -> UInt64 {
        switch below(4) {
        case 0: return below(200)
        case 1: return [0, 1, 127, 128, UInt64.max, UInt64.max - 1][Int(below(6))]
        default: return rng.next() >> below(64)
        }
    }

    mutating func string() -> String {
        let pieces = ["a", "Z", "0", ":", "-", "é", "节", "🦊", " ", "\u{0}"]
        return (0..<below(7)).map { _ in pieces[Int(below(UInt64(pieces.count)))] }.joined()
    }

    mutating func data() -> [UInt8] { (0..<below(40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }

    mutating func member() -> Member { Member(id: string(), address: string(), isVoter: flag()) }

    mutating func op() -> MembershipOp { [.add, .remove, .promote][Int(below(3))] }

    mutating func entry() -> Entry {
        Entry(index: number(), term: number(), kind: [.command, .termStart, .config][Int(below(3))], data: data())
    }

    mutating func message() -> Message {
        let body: MessageBody
        switch below(11) {
        case 0: body = .preVote(VoteRequest(lastIndex: number(), lastTerm: number(), authorized: flag()))
        case 1: body = .preVoteResponse(VoteResponse(granted: flag()))
        case 2: body = .requestVote(VoteRequest(lastIndex: number(), lastTerm: number(), authorized: flag()))
        case 3: body = .requestVoteResponse(VoteResponse(granted: flag()))
        case 4: body = .appendEntries(AppendEntries(prevIndex: number(), prevTerm: number(),
                                                    entries: (0..<below(6)).map { _ in entry() },
                                                    commitIndex: number(), context: number()))
        case 5: body = .appendResponse(AppendResponse(success: flag(), index: number(), lastIndex: number(),
                                                      hintIndex: number(), hintTerm: number(), context: number()))
        case 6:
            let settings = ClusterSettings(heartbeatPeriod: number(), electionTimeoutMin: number(),
                                           electionTimeoutMax: number(),
                                           maxEntriesPerMessage: UInt32(truncatingIfNeeded: number()),
                                           maxInflight: UInt32(truncatingIfNeeded: number()),
                                           preVote: flag(), checkQuorum: flag(), applyPolicy: ApplyPolicy(rawValue: UInt8(below(3)))!)
            let config = ClusterConfig(members: (0..<below(4)).map { _ in member() }, settings: settings)
            body = .installSnapshot(InstallSnapshot(meta: SnapshotMeta(index: number(), term: number(), config: config),
                                                    offset: number(), data: data(), done: flag()))
        case 7: body = .installSnapshotResponse(InstallSnapshotResponse(index: number(), offset: number(), success: flag()))
        case 8: body = .timeoutNow(TimeoutNow(lastIndex: number(), lastTerm: number()))
        case 9: body = .membershipChange(MembershipChange(op: op(), member: member()))
        default:
            let errors: [RaftError] = [.changeInProgress, .unknownNode(string()), .notLeader(leader: flag() ? "n" + string() : nil, address: string()),
                                       .catchUpFailed(string(), rounds: Int(below(100))), .commandTooLarge(size: Int(below(1 << 20)), max: 7)]
            body = .membershipChangeResponse(MembershipChangeResponse(op: op(), memberID: string(),
                                                                      error: flag() ? nil : errors[Int(below(UInt64(errors.count)))]))
        }
        return Message(from: string(), to: string(), term: number(), body: body)
    }
}

/// Names a sample in test output by its trace code instead of dumping every byte of it.
struct Sample: Sendable, CustomTestStringConvertible {
    let message: Message
    var testDescription: String { "\(message.body.traceCode) \(message.from)→\(message.to) term \(message.term)" }
}

@Suite struct MessageCodecTests {
    @Test(arguments: samples.map(Sample.init))
    func roundTrip(_ sample: Sample) throws {
        let bytes = MessageCodec.encode(sample.message)
        // Membership answers carry typed errors since version 2; the rest is still version 1.
        if case .membershipChangeResponse = sample.message.body { #expect(bytes[0] == 2) } else { #expect(bytes[0] == MessageCodec.version) }
        #expect(try MessageCodec.decode(bytes) == sample.message)
    }

    @Test func randomMessagesRoundTrip() {
        var gen = MessageGenerator(rng: SplitMix64(seed: 0x5EED_0003))
        var bad: [Message] = []
        for _ in 0..<10_000 {
            let m = gen.message()
            if (try? MessageCodec.decode(MessageCodec.encode(m))) != m { bad.append(m) }
        }
        #expect(bad.isEmpty, "\(bad.prefix(3))")
    }

    @Test func encodeIntoAppendsTheSameBytes() {
        var w = ByteWriter()
        w.raw([0xAA, 0xBB])
        for m in samples { MessageCodec.encode(m, into: &w) }
        #expect(w.bytes == [0xAA, 0xBB] + encodedSamples.flatMap { $0 })
    }

    /// The type byte is protocol: a renumbering would silently break mixed-version clusters.
    @Test func typeNumbersAreStable() {
        func type(_ b: MessageBody) -> UInt8 { MessageCodec.encode(Message(from: "", to: "", term: 0, body: b))[1] }
        let vote = VoteRequest(lastIndex: 0, lastTerm: 0)
        let meta = SnapshotMeta(index: 0, term: 0, config: ClusterConfig(members: []))
        #expect(type(.preVote(vote)) == 1)
        #expect(type(.preVoteResponse(VoteResponse(granted: true))) == 2)
        #expect(type(.requestVote(vote)) == 3)
        #expect(type(.requestVoteResponse(VoteResponse(granted: true))) == 4)
        #expect(type(.appendEntries(AppendEntries(prevIndex: 0, prevTerm: 0, commitIndex: 0))) == 5)
        #expect(type(.appendResponse(AppendResponse(success: true, index: 0, lastIndex: 0))) == 6)
        #expect(type(.installSnapshot(InstallSnapshot(meta: meta, offset: 0, data: [], done: true))) == 7)
        #expect(type(.installSnapshotResponse(InstallSnapshotResponse(index: 0, offset: 0, success: true))) == 8)
        #expect(type(.timeoutNow(TimeoutNow(lastIndex: 0, lastTerm: 0))) == 9)
        #expect(type(.membershipChange(MembershipChange(op: .add, member: Member(id: "x")))) == 10)
        #expect(type(.membershipChangeResponse(MembershipChangeResponse(op: .add, memberID: "x"))) == 11)
        #expect(Set(encodedSamples.map { $0[1] }) == Set(1...11))
    }

    @Test func layoutIsCompact() {
        let m = Message(from: "a", to: "b", term: 300, body: .requestVote(VoteRequest(lastIndex: 5, lastTerm: 2, authorized: true)))
        #expect(MessageCodec.encode(m) == [1, 3, 1, 0x61, 1, 0x62, 0xAC, 0x02, 5, 2, 1])
        let heartbeat = Message(from: "a", to: "b", term: 1, body: .appendEntries(AppendEntries(prevIndex: 7, prevTerm: 1, commitIndex: 7)))
        #expect(MessageCodec.encode(heartbeat) == [1, 5, 1, 0x61, 1, 0x62, 1, 7, 1, 7, 0, 0])
    }

    @Test func everyStrictPrefixFails() {
        var failures: [String] = []
        for bytes in encodedSamples {
            for n in 0..<bytes.count where decodeFailure(Array(bytes[0..<n])) == nil {
                failures.append("prefix \(n) of \(bytes)")
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(3))")
        #expect(decodeFailure([]) == .truncated)
    }

    @Test func unknownVersion() {
        for v: UInt8 in [0, 3, 255] {
            var bytes = encodedSamples[0]
            bytes[0] = v
            #expect(decodeFailure(bytes) == .unknownVersion(v))
        }
    }

    @Test func unknownMessageType() {
        for t: UInt8 in [0, 12, 200, 255] {
            var bytes = encodedSamples[0]
            bytes[1] = t
            #expect(decodeFailure(bytes) == .unknownMessageType(t))
        }
    }

    @Test func invalidEnumValues() {
        // Frame prefix shared by the hand-built frames below: version, type, from "a", to "b", term 1.
        func frame(_ type: UInt8, _ body: [UInt8]) -> [UInt8] { [1, type, 1, 0x61, 1, 0x62, 1] + body }
        #expect(decodeFailure(frame(10, [3, 1, 0x63, 0, 1])) == .unknownEnumValue("membership op", 3))
        #expect(decodeFailure([2] + frame(11, [255, 1, 0x63, 0]).dropFirst()) == .unknownEnumValue("membership op", 255))
        #expect(decodeFailure([2] + frame(11, [0, 1, 0x63, 1, 99]).dropFirst()) == .unknownEnumValue("error", 99))
        #expect(decodeFailure(frame(2, [2])) == .unknownEnumValue("bool", 2))
        // One entry (index 1, term 1) whose kind byte is 3.
        #expect(decodeFailure(frame(5, [0, 0, 0, 0, 1, 1, 1, 3, 0])) == .unknownEnumValue("entry kind", 3))
        // A valid frame for comparison, so the failures above are about the one bad byte.
        #expect(decodeFailure(frame(10, [2, 1, 0x63, 0, 1])) == nil)
        #expect(decodeFailure(frame(5, [0, 0, 0, 0, 1, 1, 1, 2, 0])) == nil)
    }

    @Test func invalidUTF8() {
        let bad: [[UInt8]] = [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xC0, 0xAF]]
        for s in bad {
            let asFrom = [1, 4] + varint(UInt64(s.count)) + s + [1, 0x62, 1, 1]
            #expect(decodeFailure(asFrom) == .invalidUTF8)
            // A refusal naming an unknown node (error tag 10) whose id is not UTF-8.
            let asReason: [UInt8] = [2, 11, 1, 0x61, 1, 0x62, 0, 0, 1, 0x63, 1, 10] + varint(UInt64(s.count)) + s
            #expect(decodeFailure(asReason) == .invalidUTF8)
        }
    }

    @Test func forgedCountsAndLengthsAreRefused() throws {
        let header: [UInt8] = [1, 5, 1, 0x61, 1, 0x62, 1, 0, 0, 0, 0]
        for n: UInt64 in [UInt64.max, 1 << 62, 1 << 31, 3] {
            // Three entries need at least 12 bytes; the frame holds 8.
            let bytes = header + varint(n) + [1, 1, 0, 0, 2, 1, 0, 0]
            #expect(decodeFailure(bytes) == .countTooLarge(n))
        }
        // Entry data length beyond the frame.
        for n: UInt64 in [UInt64.max, 1 << 40, 2] {
            let bytes = header + [1, 1, 1, 0] + varint(n) + [0x42]
            #expect(decodeFailure(bytes) == .lengthTooLarge(n))
        }
        // Snapshot chunk length beyond the frame: empty-data snapshot with its final length byte forged.
        let snapshot = try #require(encodedSamples.first { $0[1] == 7 && $0.last == 0 })
        for n: UInt64 in [UInt64.max, 1 << 33, 1] {
            #expect(decodeFailure(Array(snapshot.dropLast()) + varint(n)) == .lengthTooLarge(n))
        }
        // A string length beyond the frame.
        #expect(decodeFailure([1, 2] + varint(UInt64.max)) == .lengthTooLarge(UInt64.max))
    }

    @Test func trailingBytesAreRefused() {
        for bytes in encodedSamples {
            #expect(decodeFailure(bytes + [0]) == .trailingBytes(1))
            #expect(decodeFailure(bytes + [1, 2, 3]) == .trailingBytes(3))
        }
    }

    @Test func overlongVarintIsRefused() throws {
        let term = [UInt8](repeating: 0xFF, count: 10) + [0x01]
        #expect(decodeFailure([1, 2, 0, 0] + term + [1]) == .varintOverflow)
        #expect(decodeFailure([1, 2, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 1]) == .varintOverflow)
        // The largest value still fits: nine continuation bytes then 0x01.
        let maxTerm = [UInt8](repeating: 0xFF, count: 9) + [0x01]
        #expect(try MessageCodec.decode([1, 2, 0, 0] + maxTerm + [1]).term == UInt64.max)
    }

    /// Whatever decode accepts must be a message the codec itself round-trips.
    private static func roundTrips(_ m: Message) -> Bool {
        (try? MessageCodec.decode(MessageCodec.encode(m))) == m
    }

    @Test func fuzzRandomBytes() {
        var rng = SplitMix64(seed: 0x5EED_0001)
        var bad: [[UInt8]] = []
        for i in 0..<100_000 {
            let length = Int(rng.next() % 201)
            var bytes = [UInt8](repeating: 0, count: length)
            for j in 0..<length { bytes[j] = UInt8(truncatingIfNeeded: rng.next()) }
            // Half of the inputs get a plausible header so they reach the body decoders
            // instead of nearly all stopping at the version byte.
            if i % 2 == 1, length >= 2 {
                bytes[0] = MessageCodec.version
                bytes[1] = UInt8(rng.next() % 13)
            }
            if let m = try? MessageCodec.decode(bytes), !Self.roundTrips(m) { bad.append(bytes) }
        }
        #expect(bad.isEmpty, "\(bad.prefix(3))")
    }

    @Test func fuzzSingleByteMutations() {
        var rng = SplitMix64(seed: 0x5EED_0002)
        var bad: [[UInt8]] = []
        var accepted = 0
        for _ in 0..<100_000 {
            var bytes = encodedSamples[Int(rng.next() % UInt64(encodedSamples.count))]
            let at = Int(rng.next() % UInt64(bytes.count))
            bytes[at] ^= UInt8(1 + rng.next() % 255)
            if let m = try? MessageCodec.decode(bytes) {
                accepted += 1
                if !Self.roundTrips(m) { bad.append(bytes) }
            }
        }
        #expect(bad.isEmpty, "\(bad.prefix(3))")
        // Most mutations of data bytes and integer values still decode: the fuzz reached the bodies.
        #expect(accepted > 10_000)
    }
}
