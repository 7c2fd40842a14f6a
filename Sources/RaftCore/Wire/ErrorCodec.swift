/// Binary form of `RaftError`, for the answers that cross the wire (a leader refusing a join).
/// The tag numbers are part of the wire format: never reuse one.
extension RaftError {
    public func encode(into w: inout ByteWriter) {
        switch self {
        case .logBroken: w.u8(1)
        case .invalidSettings(let s): w.u8(2); w.string(s)
        case .corruptConfigEntry(let i): w.u8(3); w.varint(i)
        case .storage(let s): w.u8(4); w.string(s)
        case .notLeader(let l, let a): w.u8(5); w.string(l ?? ""); w.string(a)
        case .commandTooLarge(let size, let max): w.u8(6); w.varint(UInt64(size)); w.varint(UInt64(max))
        case .changeInProgress: w.u8(7)
        case .transferInProgress: w.u8(8)
        case .alreadyLeader: w.u8(9)
        case .unknownNode(let n): w.u8(10); w.string(n)
        case .alreadyMember(let n): w.u8(11); w.string(n)
        case .alreadyVoter(let n): w.u8(12); w.string(n)
        case .lastVoter: w.u8(13)
        case .emptyNodeID: w.u8(14)
        case .catchUpFailed(let n, let rounds): w.u8(15); w.string(n); w.varint(UInt64(rounds))
        case .additionTimedOut(let n): w.u8(16); w.string(n)
        case .leaderSteppedDown: w.u8(17)
        case .transferTimedOut(let n): w.u8(18); w.string(n)
        case .termNotCommitted: w.u8(19)
        case .wrongThread: w.u8(20)
        case .stopped: w.u8(21)
        }
    }

    public init(from r: inout ByteReader) throws(WireError) {
        let tag = try r.u8()
        func count(_ v: UInt64) throws(WireError) -> Int {
            guard v <= UInt64(Int.max) else { throw .invalidValue("count out of range") }
            return Int(v)
        }
        switch tag {
        case 1: self = .logBroken
        case 2: self = .invalidSettings(try r.string())
        case 3: self = .corruptConfigEntry(try r.varint())
        case 4: self = .storage(try r.string())
        case 5:
            let l = try r.string()
            self = .notLeader(leader: l.isEmpty ? nil : l, address: try r.string())
        case 6: self = .commandTooLarge(size: try count(r.varint()), max: try count(r.varint()))
        case 7: self = .changeInProgress
        case 8: self = .transferInProgress
        case 9: self = .alreadyLeader
        case 10: self = .unknownNode(try r.string())
        case 11: self = .alreadyMember(try r.string())
        case 12: self = .alreadyVoter(try r.string())
        case 13: self = .lastVoter
        case 14: self = .emptyNodeID
        case 15: self = .catchUpFailed(try r.string(), rounds: try count(r.varint()))
        case 16: self = .additionTimedOut(try r.string())
        case 17: self = .leaderSteppedDown
        case 18: self = .transferTimedOut(try r.string())
        case 19: self = .termNotCommitted
        case 20: self = .wrongThread
        case 21: self = .stopped
        default: throw .unknownEnumValue("error", tag)
        }
    }

    /// Bytes `encode` writes, at most.
    var encodedSizeBound: Int {
        var w = ByteWriter()
        encode(into: &w)
        return w.bytes.count
    }
}
