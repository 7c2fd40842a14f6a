/// Node identity: any host-chosen string (often a URI such as `127.0.0.1:7001`).
public typealias NodeID = String
public typealias Term = UInt64
public typealias LogIndex = UInt64
/// Monotonic time in nanoseconds, supplied by the driver. RaftCore never reads a clock.
public typealias Nanos = UInt64

public enum Role: UInt8, Sendable, CustomStringConvertible {
    case follower = 0, candidate = 1, leader = 2
    public var description: String {
        switch self {
        case .follower: return "FOLLOWER"
        case .candidate: return "CANDIDATE"
        case .leader: return "LEADER"
        }
    }
}

public enum EntryKind: UInt8, Sendable, CustomStringConvertible {
    /// A state-machine command from a client.
    case command = 0
    /// The no-op a new leader appends so it can commit entries of earlier terms (Raft §5.4.2).
    case termStart = 1
    /// A full `ClusterConfig` (membership + settings); membership is in force once appended,
    /// settings once committed.
    case config = 2

    public var description: String {
        switch self {
        case .command: return "command"
        case .termStart: return "termStart"
        case .config: return "config"
        }
    }
}

public struct Entry: Equatable, Sendable {
    public var index: LogIndex
    public var term: Term
    public var kind: EntryKind
    public var data: [UInt8]

    public init(index: LogIndex, term: Term, kind: EntryKind = .command, data: [UInt8] = []) {
        self.index = index
        self.term = term
        self.kind = kind
        self.data = data
    }
}

/// Identifies a position in the log: the (index, term) pair that Raft's log matching uses.
public struct LogPosition: Equatable, Sendable {
    public var index: LogIndex
    public var term: Term
    public init(index: LogIndex, term: Term) {
        self.index = index
        self.term = term
    }
    public static let zero = LogPosition(index: 0, term: 0)

    /// Raft §5.4.1: a log is at least as up to date when its last term is higher, or equal with
    /// an index at least as large.
    public func isAtLeastAsUpToDate(as other: LogPosition) -> Bool {
        term > other.term || (term == other.term && index >= other.index)
    }
}

/// Durable per-node state that must survive a crash before a vote or term is revealed.
public struct HardState: Equatable, Sendable {
    public var term: Term
    public var votedFor: NodeID?
    public init(term: Term = 0, votedFor: NodeID? = nil) {
        self.term = term
        self.votedFor = votedFor
    }
}

/// Metadata of a snapshot: the last index/term it covers and the configuration in force there.
public struct SnapshotMeta: Equatable, Sendable {
    public var index: LogIndex
    public var term: Term
    public var config: ClusterConfig
    public init(index: LogIndex, term: Term, config: ClusterConfig) {
        self.index = index
        self.term = term
        self.config = config
    }
}
