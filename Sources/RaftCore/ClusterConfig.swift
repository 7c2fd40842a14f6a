/// Settings that every node of a cluster shares. They live in the log (inside a config entry)
/// and take effect on each node when that entry commits.
public struct ClusterSettings: Equatable, Sendable {
    public var heartbeatPeriod: Nanos
    public var electionTimeoutMin: Nanos
    public var electionTimeoutMax: Nanos
    public var maxEntriesPerMessage: UInt32
    /// Append-entries messages that may be unacknowledged per follower (the inflight window).
    public var maxInflight: UInt32
    /// Payload bytes of unacknowledged appends per follower, the window's second cap (soft: one
    /// append larger than it still goes alone). 32 MiB, as CockroachDB's default: with the 64
    /// appends `maxInflight` allows and large entries, a leader would otherwise hold up to
    /// 64 × `NodeOptions.maxBytesPerMessage` per follower in its send buffers.
    public var maxInflightBytes: UInt64
    public var preVote: Bool
    public var checkQuorum: Bool
    /// What a failed apply means; the same on every member because it lives in the log.
    public var applyPolicy: ApplyPolicy

    public init(heartbeatPeriod: Nanos = 10_000_000,
                electionTimeoutMin: Nanos = 150_000_000,
                electionTimeoutMax: Nanos = 300_000_000,
                maxEntriesPerMessage: UInt32 = 20,
                maxInflight: UInt32 = 64,
                maxInflightBytes: UInt64 = ClusterSettings.defaultMaxInflightBytes,
                preVote: Bool = true,
                checkQuorum: Bool = true,
                applyPolicy: ApplyPolicy = .reject) {
        self.heartbeatPeriod = heartbeatPeriod
        self.electionTimeoutMin = electionTimeoutMin
        self.electionTimeoutMax = electionTimeoutMax
        self.maxEntriesPerMessage = maxEntriesPerMessage
        self.maxInflight = maxInflight
        self.maxInflightBytes = maxInflightBytes
        self.preVote = preVote
        self.checkQuorum = checkQuorum
        self.applyPolicy = applyPolicy
    }

    public static let `default` = ClusterSettings()
    public static let defaultMaxInflightBytes: UInt64 = 32 << 20

    /// Names the first setting that cannot work, or nil when all are usable.
    public func validationError() -> String? {
        if heartbeatPeriod == 0 { return "heartbeat period must be positive" }
        if electionTimeoutMin == 0 { return "election timeout minimum must be positive" }
        if electionTimeoutMax < electionTimeoutMin { return "election timeout maximum is below its minimum" }
        if heartbeatPeriod >= electionTimeoutMin { return "heartbeat period must be shorter than the election timeout minimum" }
        if maxEntriesPerMessage == 0 { return "max entries per message must be at least 1" }
        if maxInflight == 0 { return "max inflight must be at least 1" }
        if maxInflightBytes == 0 { return "max inflight bytes must be at least 1" }
        return nil
    }
}

/// What a state machine's failure to apply a committed command means.
public enum ApplyPolicy: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// The default. A deterministic state machine refuses a bad command on every replica alike,
    /// so the failure is that command's result: the proposer gets `.applyError` with the
    /// machine's message, every replica reports it and applies the next entry.
    case reject = 0
    /// The failure is transient (an idempotent machine waiting on a resource): apply the same
    /// entry again later, with backoff, and nothing after it until it succeeds.
    case retry = 1
    /// The failure means local corruption: mark the log broken and stop this node.
    case halt = 2

    /// The name hosts use ("reject", "retry", "halt").
    public var description: String {
        switch self {
        case .reject: return "reject"
        case .retry: return "retry"
        case .halt: return "halt"
        }
    }

    public init?(name: String) {
        guard let p = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = p
    }
}

public struct Member: Equatable, Sendable {
    public var id: NodeID
    /// Opaque address for the transport (and for redirects); may be empty.
    public var address: String
    /// Learners receive the log but neither vote nor count toward quorums.
    public var isVoter: Bool
    public init(id: NodeID, address: String = "", isVoter: Bool = true) {
        self.id = id
        self.address = address
        self.isVoter = isVoter
    }
}

public struct ClusterConfig: Equatable, Sendable {
    public var members: [Member]
    public var settings: ClusterSettings

    public init(members: [Member], settings: ClusterSettings = .default) {
        self.members = members
        self.settings = settings
    }

    public init(voters: [NodeID], settings: ClusterSettings = .default) {
        self.init(members: voters.map { Member(id: $0) }, settings: settings)
    }

    public var voterIDs: [NodeID] { members.filter(\.isVoter).map(\.id) }
    public var memberIDs: [NodeID] { members.map(\.id) }
    public func member(_ id: NodeID) -> Member? { members.first { $0.id == id } }
    public func isVoter(_ id: NodeID) -> Bool { members.contains { $0.id == id && $0.isVoter } }
    public func contains(_ id: NodeID) -> Bool { members.contains { $0.id == id } }

    /// Strict majority of voters (Raft paper). The seed library used ceil(n/2), which lets half
    /// of an even-sized cluster commit; we do not.
    public var quorum: Int { voterIDs.count / 2 + 1 }
}
