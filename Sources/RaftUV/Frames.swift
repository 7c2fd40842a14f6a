import RaftCore

/// Length-prefixed frames: a little-endian u32 length, then that many payload bytes. The first
/// frame on every connection is a `Handshake`; every later one is a `MessageCodec` message.
enum Frame {
    static func append(_ payload: [UInt8], to out: inout [UInt8]) {
        let n = UInt32(payload.count)
        out.append(UInt8(truncatingIfNeeded: n))
        out.append(UInt8(truncatingIfNeeded: n >> 8))
        out.append(UInt8(truncatingIfNeeded: n >> 16))
        out.append(UInt8(truncatingIfNeeded: n >> 24))
        out.append(contentsOf: payload)
    }
}

/// Splits a byte stream into frames, refusing any frame above `maxFrameSize` before buffering it.
struct FrameReader {
    enum Failure: Error { case tooLarge(Int) }

    let maxFrameSize: Int
    private var buffer: [UInt8] = []
    private var start = 0

    init(maxFrameSize: Int) { self.maxFrameSize = maxFrameSize }

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > (1 << 20) {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    mutating func next() throws -> [UInt8]? {
        guard buffer.count - start >= 4 else { return nil }
        let n = Int(buffer[start]) | Int(buffer[start + 1]) << 8 | Int(buffer[start + 2]) << 16 | Int(buffer[start + 3]) << 24
        guard n <= maxFrameSize else { throw Failure.tooLarge(n) }
        guard buffer.count - start - 4 >= n else { return nil }
        let frame = Array(buffer[(start + 4)..<(start + 4 + n)])
        start += 4 + n
        return frame
    }
}

/// Who is on the other end of a connection, and of which cluster.
struct Handshake: Equatable {
    static let magic: UInt32 = 0x5241_4654  // "RAFT"
    static let version: UInt8 = 1
    var clusterID: String
    var nodeID: NodeID
    /// Where the sender listens, so a node that does not know it yet (a joiner) can answer.
    var address: String

    var encoded: [UInt8] {
        var w = ByteWriter()
        w.u32(Self.magic)
        w.u8(Self.version)
        w.string(clusterID)
        w.string(nodeID)
        w.string(address)
        return w.bytes
    }

    init(clusterID: String, nodeID: NodeID, address: String) {
        self.clusterID = clusterID
        self.nodeID = nodeID
        self.address = address
    }

    init(decoding bytes: [UInt8]) throws(WireError) {
        var r = ByteReader(bytes)
        let magic = try r.u32()
        guard magic == Self.magic else { throw .invalidValue("not a RaftEngine handshake") }
        let v = try r.u8()
        guard v == Self.version else { throw .unknownVersion(v) }
        clusterID = try r.string()
        nodeID = try r.string()
        address = try r.string()
        try r.expectEnd()
    }
}

/// What the transport dropped or refused, for hosts and tests.
public struct TransportStats: Equatable, Sendable {
    public var framesReceived = 0
    public var framesSent = 0
    /// Frames from a node we do not know (and not a join request).
    public var unknownSender = 0
    /// Frames whose sender field names another node than the connection's handshake did (the
    /// connection is closed).
    public var spoofedSender = 0
    /// Connections refused by peer authentication: a wrong or missing secret, a replayed
    /// handshake, an unauthenticated peer of a secured cluster (or the reverse).
    public var authFailed = 0
    /// Connections from another cluster id.
    public var wrongCluster = 0
    /// Frames that failed to decode; the connection was closed.
    public var malformed = 0
    /// Frames above the maximum size; the connection was closed.
    public var oversized = 0
    public var connectsFailed = 0
    /// Frames dropped because a peer stayed unreachable while its queue was full.
    public var droppedWhileDisconnected = 0
    public init() {}
}
