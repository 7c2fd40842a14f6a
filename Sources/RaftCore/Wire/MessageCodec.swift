/// Binary wire form of `Message`.
///
/// Frame: version u8, type u8, from string, to string, term varint, then the body fields in the
/// order `write(_:into:)` lists them. Integers are LEB128 varints so the common small indexes
/// and terms cost a byte or two; strings and data are length-prefixed blobs. The frame carries
/// no length of its own: the transport delimits frames, and `decode` insists on consuming
/// exactly the bytes it is given.
public enum MessageCodec {
    public static let version: UInt8 = 1
    /// Membership-change answers carry a typed error since version 2; every other message is
    /// still written as version 1, so older nodes keep replicating with newer ones.
    static let typedErrorVersion: UInt8 = 2

    static func version(of body: MessageBody) -> UInt8 {
        if case .membershipChangeResponse = body { return typedErrorVersion }
        return version
    }

    public static func encode(_ message: Message) -> [UInt8] {
        var w = ByteWriter(capacity: sizeBound(message))
        write(message, into: &w)
        return w.bytes
    }

    public static func encode(_ message: Message, into w: inout ByteWriter) {
        w.reserve(additional: sizeBound(message))
        write(message, into: &w)
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> Message {
        var r = ByteReader(bytes)
        let v = try r.u8()
        guard v == version || v == typedErrorVersion else { throw .unknownVersion(v) }
        let rawType = try r.u8()
        guard let type = MessageType(rawValue: rawType) else { throw .unknownMessageType(rawType) }
        // A version-1 membership answer (reason as text) is not understood: the asker retries.
        if type == .membershipChangeResponse && v != typedErrorVersion { throw .unknownVersion(v) }
        let from = try r.string()
        let to = try r.string()
        let term = try r.varint()
        let body = try readBody(type, from: &r)
        try r.expectEnd()
        return Message(from: from, to: to, term: term, body: body)
    }
}

extension MessageCodec {
    /// Wire numbers of the body cases. They are part of the protocol: never renumber or reuse one,
    /// only append.
    enum MessageType: UInt8 {
        case preVote = 1
        case preVoteResponse = 2
        case requestVote = 3
        case requestVoteResponse = 4
        case appendEntries = 5
        case appendResponse = 6
        case installSnapshot = 7
        case installSnapshotResponse = 8
        case timeoutNow = 9
        case membershipChange = 10
        case membershipChangeResponse = 11

        init(_ body: MessageBody) {
            switch body {
            case .preVote: self = .preVote
            case .preVoteResponse: self = .preVoteResponse
            case .requestVote: self = .requestVote
            case .requestVoteResponse: self = .requestVoteResponse
            case .appendEntries: self = .appendEntries
            case .appendResponse: self = .appendResponse
            case .installSnapshot: self = .installSnapshot
            case .installSnapshotResponse: self = .installSnapshotResponse
            case .timeoutNow: self = .timeoutNow
            case .membershipChange: self = .membershipChange
            case .membershipChangeResponse: self = .membershipChangeResponse
            }
        }
    }
}

extension MessageCodec {
    /// Smallest possible encoded entry: one-byte index, term, kind and empty data length.
    /// Used to refuse entry counts the remaining input could not hold.
    static let minEntrySize = 4

    static func write(_ m: Message, into w: inout ByteWriter) {
        w.u8(version(of: m.body))
        w.u8(MessageType(m.body).rawValue)
        w.string(m.from)
        w.string(m.to)
        w.varint(m.term)
        switch m.body {
        case .preVote(let v), .requestVote(let v):
            w.varint(v.lastIndex)
            w.varint(v.lastTerm)
            w.bool(v.authorized)
        case .preVoteResponse(let v), .requestVoteResponse(let v):
            w.bool(v.granted)
        case .appendEntries(let a):
            w.varint(a.prevIndex)
            w.varint(a.prevTerm)
            w.varint(a.commitIndex)
            w.varint(a.context)
            w.varint(UInt64(a.entries.count))
            for e in a.entries { e.encode(into: &w) }
        case .appendResponse(let a):
            w.bool(a.success)
            w.varint(a.index)
            w.varint(a.lastIndex)
            w.varint(a.hintIndex)
            w.varint(a.hintTerm)
            w.varint(a.context)
        case .installSnapshot(let s):
            s.meta.encode(into: &w)
            w.varint(s.offset)
            w.bool(s.done)
            w.blob(s.data)
        case .installSnapshotResponse(let s):
            w.varint(s.index)
            w.varint(s.offset)
            w.bool(s.success)
        case .timeoutNow(let t):
            w.varint(t.lastIndex)
            w.varint(t.lastTerm)
        case .membershipChange(let c):
            w.u8(c.op.rawValue)
            c.member.encode(into: &w)
        case .membershipChangeResponse(let c):
            w.u8(c.op.rawValue)
            w.string(c.memberID)
            w.bool(c.error != nil)
            c.error?.encode(into: &w)
        }
    }

    static func readBody(_ type: MessageType, from r: inout ByteReader) throws(WireError) -> MessageBody {
        switch type {
        case .preVote:
            return .preVote(try readVoteRequest(&r))
        case .requestVote:
            return .requestVote(try readVoteRequest(&r))
        case .preVoteResponse:
            return .preVoteResponse(VoteResponse(granted: try r.bool()))
        case .requestVoteResponse:
            return .requestVoteResponse(VoteResponse(granted: try r.bool()))
        case .appendEntries:
            let prevIndex = try r.varint()
            let prevTerm = try r.varint()
            let commitIndex = try r.varint()
            let context = try r.varint()
            let n = try r.count(minItemSize: minEntrySize)
            var entries: [Entry] = []
            entries.reserveCapacity(n)
            for _ in 0..<n { entries.append(try Entry(from: &r)) }
            return .appendEntries(AppendEntries(prevIndex: prevIndex, prevTerm: prevTerm, entries: entries,
                                                commitIndex: commitIndex, context: context))
        case .appendResponse:
            let success = try r.bool()
            let index = try r.varint()
            let lastIndex = try r.varint()
            let hintIndex = try r.varint()
            let hintTerm = try r.varint()
            let context = try r.varint()
            return .appendResponse(AppendResponse(success: success, index: index, lastIndex: lastIndex,
                                                  hintIndex: hintIndex, hintTerm: hintTerm, context: context))
        case .installSnapshot:
            let meta = try SnapshotMeta(from: &r)
            let offset = try r.varint()
            let done = try r.bool()
            let data = try r.blob()
            return .installSnapshot(InstallSnapshot(meta: meta, offset: offset, data: data, done: done))
        case .installSnapshotResponse:
            let index = try r.varint()
            let offset = try r.varint()
            let success = try r.bool()
            return .installSnapshotResponse(InstallSnapshotResponse(index: index, offset: offset, success: success))
        case .timeoutNow:
            let lastIndex = try r.varint()
            let lastTerm = try r.varint()
            return .timeoutNow(TimeoutNow(lastIndex: lastIndex, lastTerm: lastTerm))
        case .membershipChange:
            let op = try readOp(&r)
            let member = try Member(from: &r)
            return .membershipChange(MembershipChange(op: op, member: member))
        case .membershipChangeResponse:
            let op = try readOp(&r)
            let memberID = try r.string()
            let error: RaftError? = try r.bool() ? try RaftError(from: &r) : nil
            return .membershipChangeResponse(MembershipChangeResponse(op: op, memberID: memberID, error: error))
        }
    }

    private static func readVoteRequest(_ r: inout ByteReader) throws(WireError) -> VoteRequest {
        let lastIndex = try r.varint()
        let lastTerm = try r.varint()
        let authorized = try r.bool()
        return VoteRequest(lastIndex: lastIndex, lastTerm: lastTerm, authorized: authorized)
    }

    private static func readOp(_ r: inout ByteReader) throws(WireError) -> MembershipOp {
        let raw = try r.u8()
        guard let op = MembershipOp(rawValue: raw) else { throw .unknownEnumValue("membership op", raw) }
        return op
    }
}

// MARK: - Capacity

extension MessageCodec {
    /// An upper bound on the encoded size, exact for entries so a large append-entries is
    /// written into a single allocation without over-reserving by the worst-case varint width.
    static func sizeBound(_ m: Message) -> Int {
        let header = 2 + stringSize(m.from) + stringSize(m.to) + maxVarint
        switch m.body {
        case .preVote, .requestVote, .timeoutNow, .installSnapshotResponse, .appendResponse:
            return header + 6 * maxVarint
        case .preVoteResponse, .requestVoteResponse:
            return header + 1
        case .appendEntries(let a):
            var size = header + 5 * maxVarint
            for e in a.entries {
                size += varintSize(e.index) + varintSize(e.term) + 1 + varintSize(UInt64(e.data.count)) + e.data.count
            }
            return size
        case .installSnapshot(let s):
            return header + configSizeBound(s.meta.config) + 3 * maxVarint + 1 + varintSize(UInt64(s.data.count)) + s.data.count
        case .membershipChange(let c):
            return header + 1 + stringSize(c.member.id) + stringSize(c.member.address) + 1
        case .membershipChangeResponse(let c):
            return header + 1 + stringSize(c.memberID) + 1 + (c.error?.encodedSizeBound ?? 0)
        }
    }

    private static let maxVarint = 10

    private static func varintSize(_ v: UInt64) -> Int {
        // Each byte carries 7 bits; zero still takes one byte.
        Swift.max(1, (64 - v.leadingZeroBitCount + 6) / 7)
    }

    private static func stringSize(_ s: String) -> Int {
        let n = s.utf8.count
        return varintSize(UInt64(n)) + n
    }

    private static func configSizeBound(_ c: ClusterConfig) -> Int {
        // Settings: version byte, five varints, two bools and the apply policy; then the member count.
        var size = 1 + 5 * maxVarint + 3 + maxVarint
        for m in c.members { size += stringSize(m.id) + stringSize(m.address) + 1 }
        return size
    }
}
