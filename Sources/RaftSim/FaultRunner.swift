import RaftCore

/// Randomized fault testing: for one seed, runs a cluster through random message delivery
/// order, loss, duplication, crashes, restarts, partitions, proposals and cluster operations,
/// checking the safety properties (and the test's own invariants) after every action. The same
/// seed with the same options replays the same run.
///
/// `run()` does it all; `prepare()` hands back the `FaultRun` first, so a test can reach the
/// cluster, its trace and the action log before, during and after.
public struct FaultRunner {
    /// Relative weights of the random actions, on any scale (the defaults add up to 1000); 0
    /// turns an action off.
    public struct Rates: Sendable, Equatable {
        public var deliver = 480
        public var advance = 220
        public var propose = 120
        public var drop = 30
        public var duplicate = 20
        public var crash = 20
        public var restart = 40
        public var partition = 15
        public var heal = 25
        /// Membership changes, transfers, snapshots (only with `Options.clusterOperations`).
        public var clusterOperation = 30
        /// Give a random link a random loss (up to 50%) and delay (up to 20 ms), or clear it;
        /// off by default, so the default runs stay as they were.
        public var linkFault = 0
        /// A crash that is also a power loss, and a disk that fills up (only with
        /// `Options.storageFaults`).
        public var powerLoss = 15
        public var diskFull = 4
        /// Every running node loses power at once (a rack's power cut).
        public var powerLossAll = 3
        /// One of a node's next file calls fails with EIO (the node stops; restarted later).
        public var diskError = 3
        /// A node's sync job runs its fdatasync, or the node takes back one that ran (only
        /// when the seed's syncs run off the loop: `Options.syncPlacement`).
        public var syncJob = 150
        public init() {}

        func table(storageFaults: Bool, syncJobs: Bool) -> [(weight: Int, action: FaultAction.Kind)] {
            [(deliver, .deliver), (advance, .advance), (propose, .propose), (drop, .drop), (duplicate, .duplicate),
             (crash, .crash), (restart, .restart), (partition, .partition), (heal, .heal), (clusterOperation, .clusterOperation), (linkFault, .linkFault)]
                + (storageFaults ? [(powerLoss, .powerLoss), (diskFull, .diskFull), (powerLossAll, .powerLossAll), (diskError, .diskError)] : [])
                // Last and only off the loop, so the inline seeds roll as they always did.
                + (syncJobs ? [(syncJob, .syncJob)] : [])
        }
    }

    /// A property of the test's that must hold after every action: nil when it holds.
    public struct Invariant: Sendable {
        public var name: String
        public var check: @Sendable (SimCluster) -> String?
        public init(_ name: String, _ check: @escaping @Sendable (SimCluster) -> String?) {
            self.name = name
            self.check = check
        }
    }

    public struct Options: Sendable {
        public var nodeCount = 3
        public var steps = 400
        /// Also change membership, transfer leadership and take snapshots.
        public var clusterOperations = true
        /// After the faults: heal, restart everything and require a leader that commits a
        /// final command on every node (liveness once the network behaves).
        public var checkRecovery = true
        public var rates = Rates()
        /// Pre-vote on or off; nil lets the seed choose (half the seeds each way).
        public var preVote: Bool?
        /// Batch apply on or off; nil lets the seed choose.
        public var batchApply: Bool?
        /// Apply after acknowledging (the runtime's order) or inside the step; nil lets the
        /// seed choose.
        public var deferredApply: Bool?
        /// Where the nodes' syncs run (the runtime's `SyncPlacement`): inline, on a sync thread
        /// while leading, or always there, with each job's fdatasync and completion separate
        /// random actions (`Rates.syncJob`); nil lets the seed choose (a third each way).
        public var syncPlacement: SimCluster.SyncPlacement?
        public var invariants: [Invariant] = []
        /// Record the trace tables (slower; for replaying one seed).
        public var trace = false
        /// Every node keeps a real FileLog on a simulated disk (`SimDisk`): some crashes are
        /// power losses that lose, tear or reorder unsynced writes, and now and then a disk
        /// fills up (its node stops on ENOSPC and restarts once space is freed). A log that
        /// does not reopen after either is a failure.
        public var storageFaults = false
        /// The nodes' state machines; nil gives `CounterMachine`s.
        public var makeMachine: (@Sendable (NodeID) -> StateMachine)?
        /// The n-th proposal's command (n from 1); nil gives unique text commands, now and
        /// then a `fail …` one that a `CounterMachine` refuses.
        public var makeCommand: (@Sendable (Int) -> String)?
        public init() {}
    }

    public struct Report: Sendable {
        public var seed: UInt64
        public var nodeCount: Int
        /// Every failure as text, safety violations first (with their steps).
        public var violations: [String]
        public var committed: LogIndex
        public var leadersElected: Int
        /// How many times each action ran, by name.
        public var actions: [String: Int]
        public var ok: Bool { violations.isEmpty }
    }

    public let seed: UInt64
    public let options: Options

    public init(seed: UInt64, options: Options = Options()) {
        self.seed = seed
        self.options = options
    }

    /// Runs the seed to the end.
    public func run() -> Report { prepare().finish() }

    /// The run set up (cluster built, checker attached, nothing done yet).
    public func prepare() -> FaultRun { FaultRun(seed: seed, options: options) }

    /// The outcome of many seeds.
    public struct SweepReport: Sendable {
        public var seedsRun: Int
        /// Seeds run per node count.
        public var bySize: [Int: Int]
        public var committed: LogIndex
        /// The failing seeds' reports, in seed order.
        public var failures: [Report]
        public var firstFailingSeed: UInt64? { failures.first?.seed }
    }

    /// Runs every seed of `seeds`, the node count for seed s being
    /// `nodeCounts[s % nodeCounts.count]` (so a seed always runs the same cluster), and stops
    /// at the first failure when asked.
    public static func sweep(_ seeds: ClosedRange<UInt64>, nodeCounts: [Int] = [3, 5, 7], options: Options = Options(),
                             stopAtFirstFailure: Bool = false) -> SweepReport {
        let sizes = nodeCounts.isEmpty ? [options.nodeCount] : nodeCounts
        var out = SweepReport(seedsRun: 0, bySize: [:], committed: 0, failures: [])
        for seed in seeds {
            var o = options
            o.nodeCount = nodeCount(for: seed, among: sizes)
            let report = FaultRunner(seed: seed, options: o).run()
            out.seedsRun += 1
            out.bySize[o.nodeCount, default: 0] += 1
            out.committed += report.committed
            if !report.ok {
                out.failures.append(report)
                if stopAtFirstFailure { break }
            }
        }
        return out
    }

    /// The node count `sweep` gives a seed.
    public static func nodeCount(for seed: UInt64, among sizes: [Int]) -> Int {
        sizes[Int(seed % UInt64(sizes.count))]
    }
}

/// One action the fault runner took: when (its turn and the cluster step), what, and where.
public struct FaultAction: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case deliver, advance, propose, drop, duplicate, crash, restart, partition, heal, linkFault, powerLoss, diskFull, powerLossAll, diskError
        /// A sync job was drawn: `syncRun` ran a node's oldest job's fdatasync, `syncComplete`
        /// had the node take back its oldest job that ran; `syncJob` when no node had one.
        case syncJob, syncRun, syncComplete
        /// A cluster operation was drawn but none could run (no leader, or the option off).
        case clusterOperation
        case snapshot, transfer, remove, add, promote
    }

    public var turn: Int
    /// `SimCluster.step` before the action.
    public var step: Int
    public var kind: Kind
    /// The node acted on, when there is one.
    public var node: NodeID?

    public var description: String { "\(turn) [step \(step)] \(kind.rawValue)" + (node.map { " \($0)" } ?? "") }
}
