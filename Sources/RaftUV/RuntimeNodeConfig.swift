import RaftCore

/// Everything needed to run one node on a `UVHost`.
public struct RuntimeNodeConfig: Sendable {
    public var id: NodeID
    public var dataDir: String
    /// "host:port" to listen on (port 0 picks a free port; see `HostedNode.listenPort`).
    public var listenAddress: String
    /// The other members of a new cluster (id → "host:port"). Used only when the data dir holds
    /// no configuration yet; later starts take membership from the log.
    public var peers: [NodeID: String]
    /// False for a node that will `join` an existing cluster: it starts with no configuration.
    public var bootstrap: Bool
    /// Raft addresses of members of a running cluster. When given, the node never bootstraps:
    /// it starts with no configuration, never campaigns until a configuration learned from the
    /// leader makes it a voter, and asks these addresses in turn (with backoff) to add it until
    /// it is a member. A data dir that already holds its membership is not joined again.
    public var joinAddresses: [String] = []
    /// Frames from another cluster id are refused.
    public var clusterID: String
    /// When set, peers must prove they know the cluster secret in the handshake (mutual
    /// HMAC-SHA256 challenge-response; docs/security.md). nil: no authentication.
    public var secrets: ClusterSecrets?
    public var settings: ClusterSettings
    public var maxFrameSize: Int
    public var maxCommandSize: Int
    public var commandTimeout: Nanos
    public var snapshotThreshold: LogIndex
    public var snapshotTrailing: LogIndex
    /// Appended as ",<extra>" to this node's member address (the example node puts its client
    /// address there, so redirects can name it); the transport ignores it.
    public var addressExtra: String = ""
    /// Where a FileLog's fsync runs (a host's own log always syncs inline on the loop thread).
    public var syncPlacement: SyncPlacement = .offLoopWhenLeading

    public init(id: NodeID, dataDir: String, listenAddress: String, peers: [NodeID: String] = [:],
                bootstrap: Bool = true, clusterID: String = "raftengine", settings: ClusterSettings = .default,
                maxFrameSize: Int = 16 << 20, maxCommandSize: Int = 1 << 20, commandTimeout: Nanos = 5_000_000_000,
                snapshotThreshold: LogIndex = 0, snapshotTrailing: LogIndex = 1000) {
        self.id = id
        self.dataDir = dataDir
        self.listenAddress = listenAddress
        self.peers = peers
        self.bootstrap = bootstrap
        self.clusterID = clusterID
        self.settings = settings
        self.maxFrameSize = maxFrameSize
        self.maxCommandSize = maxCommandSize
        self.commandTimeout = commandTimeout
        self.snapshotThreshold = snapshotThreshold
        self.snapshotTrailing = snapshotTrailing
    }
}

/// Where a node's fsync runs (HostedNode+Sync). Durability is the same in every placement: an
/// acknowledgement or vote leaves only after the sync covering it, and a leader counts its own
/// entries toward a commit only once its sync covering them completed.
public enum SyncPlacement: String, Sendable, CaseIterable {
    /// On the loop thread, blocking it (the node does nothing else while the disk works).
    case inline
    /// On the node's sync thread while it leads, so follower acknowledgements are handled, and
    /// commands commit on two followers' acknowledgements, while its own write is in flight;
    /// inline as a follower, whose acknowledgement has to wait for its sync anyway (one thread
    /// hand-off fewer on the path).
    case offLoopWhenLeading = "leader"
    /// On the node's sync thread in every role.
    case offLoop = "always"
}

/// Why a node could not start, as named values the C ABI maps to status codes.
public enum StartError: Error, Equatable, CustomStringConvertible {
    case invalidConfig(String)
    case invalidAddress(String)
    case addressInUse(String)
    case duplicateNode(NodeID)
    case dataDirLocked(String)
    case storage(String)
    case corrupt(String)
    case logBroken
    case hostStopped

    public var description: String {
        switch self {
        case .invalidConfig(let why): return "invalid configuration: \(why)"
        case .invalidAddress(let a): return "invalid address \(a)"
        case .addressInUse(let a): return "cannot listen on \(a)"
        case .duplicateNode(let id): return "node \(id) already runs on this host"
        case .dataDirLocked(let d): return "data directory \(d) is locked"
        case .storage(let why): return "storage: \(why)"
        case .corrupt(let why): return "corrupt data: \(why)"
        case .logBroken: return "the log is marked broken"
        case .hostStopped: return "the host is stopped"
        }
    }
}
