import RaftCore
import RaftStorage

/// One simulated server: a durable log that survives crashes, and the volatile part (the Raft
/// node and its state machine) that a crash throws away. The apply history survives too: it
/// is the test's record, not the server's state.
public final class SimNode {
    public let id: NodeID
    /// A MemoryLog unless `SimCluster.Options.makeLog` says otherwise. A crash keeps the object
    /// of a log that is not a `ReopenableLog`; one that is gets closed and, at restart, replaced
    /// by the log opened again from its files.
    public internal(set) var log: RaftLog
    /// This lifetime's state machine, made by `SimCluster.Options.makeMachine` (a
    /// `CounterMachine` by default) when the node was created and again at each restart.
    public internal(set) var stateMachine: StateMachine
    /// Counts the node's starts: 1 after creation, 2 after the first restart, and so on.
    public internal(set) var lifetime = 0
    /// Every command and snapshot the node's machines applied, over all its lifetimes.
    public internal(set) var history = ApplyHistory()
    /// Positions in `history` of restores whose snapshot index is not known yet.
    var unresolvedRestores: [Int] = []
    /// The batch wrapper around the machine when the cluster applies in batches.
    public internal(set) var batching: BatchingMachine?
    /// nil while crashed (or after the node stopped itself and was not restarted).
    public internal(set) var raft: RaftNode?
    public internal(set) var crashed = false
    /// Timer-driven behaviour (heartbeats, elections, command timeouts) runs only when enabled.
    public var timersEnabled = false
    /// How far this node's clock runs ahead of the cluster's (`SimCluster.advanceClock`).
    public internal(set) var clockOffset: Nanos = 0
    /// Messages sent by this node, not yet moved onto the network.
    public internal(set) var outbox: [Message] = []
    /// Messages that reached this node, not yet handled.
    public internal(set) var inbox: [Message] = []
    public internal(set) var events: [RaftEvent] = []
    public internal(set) var outcomes: [UInt64: CommandOutcome] = [:]
    /// A slow disk: while set, syncs wait for `SimCluster.finishSync(_:)`, so writes stay
    /// unsynced and the messages that must follow a sync (acknowledgements, votes) wait too.
    public var syncsDeferred = false
    /// A sync was asked for and has not happened yet.
    public internal(set) var syncAwaited = false
    var messagesAwaitingSync: [Message] = []
    /// Where this node's syncs run (`SimCluster.Options.syncPlacement` at creation). Off the
    /// loop, syncs are jobs the test runs and completes (`SimCluster.runSyncJob`,
    /// `completeSyncJob`); see SimCluster+SyncThread.
    public var syncPlacement: SimCluster.SyncPlacement = .inline
    /// Sync jobs started and not taken back yet, oldest first (at most `maxSyncsInFlight`).
    var syncJobs: [SimSyncJob] = []
    /// Rounds wrote beyond the jobs in flight: the next job starts when one completes.
    var syncWanted = false
    /// Acknowledgements and votes waiting for that next job.
    var awaitingSyncJob: [Message] = []
    /// The term and vote as the last sync of this lifetime left them (a log that is no FileLog).
    var hardStateSynced: HardState?
    /// Sync jobs in flight, and how many of them have run their fdatasync.
    public var syncJobsInFlight: Int { syncJobs.count }
    public var syncJobsRun: Int { syncJobs.filter(\.ran).count }
    /// The oldest job has run: `SimCluster.completeSyncJob` can take it back.
    public var syncJobOldestRan: Bool { syncJobs.first?.ran ?? false }
    /// The marks of the jobs in flight, oldest first.
    public var syncJobMarks: [SyncMark] { syncJobs.map(\.mark) }
    var options: NodeOptions

    init(id: NodeID, options: NodeOptions, log: RaftLog, machine: StateMachine) {
        self.id = id
        self.options = options
        self.log = log
        self.stateMachine = machine
    }

    /// This lifetime's machine as the type the test gave the factory; nil if it is another.
    public func machine<M: StateMachine>(as type: M.Type) -> M? { stateMachine as? M }

    /// The default machine. Only for clusters whose factory makes `CounterMachine`s (the
    /// default): it stops the test with a message otherwise; use `machine(as:)` there.
    public var machine: CounterMachine {
        guard let m = stateMachine as? CounterMachine else {
            preconditionFailure("\(id) runs \(type(of: stateMachine)), not CounterMachine: use machine(as:)")
        }
        return m
    }

    /// Running and taking part (not crashed, not stopped by itself).
    public var isUp: Bool { !crashed && raft.map { !$0.stopped } ?? false }
    public var role: Role { raft?.role ?? .follower }
    public var term: Term { raft?.term ?? log.hardState.term }
    public var commitIndex: LogIndex { raft?.commitIndex ?? 0 }
    public var lastIndex: LogIndex { log.lastIndex }
    public var leaderID: NodeID? { raft?.leaderID }
    /// The counter's total (CounterMachine nodes only, as `machine`).
    public var total: Int64 { machine.total }
    /// The total when the machine is a `CounterMachine`, else nil.
    var counterTotal: Int64? { (stateMachine as? CounterMachine)?.total }

    /// Events of one kind seen so far, e.g. `node.events(ofElection:)`.
    public var electionSteps: [ElectionStep] {
        events.compactMap { if case .election(let s) = $0 { return s } else { return nil } }
    }
}
