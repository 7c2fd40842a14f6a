import Foundation
import Glibc
import RaftCore
import RaftUV
import RaftTestSupport

/// Monotonic nanoseconds (the same clock libuv's uv_hrtime reads).
@inline(__always) func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// The cheapest state machine: counts applies, returns an empty result, snapshots 8 bytes.
/// Runs on a loop thread; the count is read elsewhere only for progress, so it is atomic-ish
/// enough under a lock.
final class CountingMachine: StateMachine {
    private let lock = NSLock()
    private var applied: UInt64 = 0
    var count: UInt64 { lock.lock(); defer { lock.unlock() }; return applied }
    func apply(_ command: [UInt8], index: LogIndex) throws -> [UInt8] {
        lock.lock(); applied += 1; lock.unlock()
        return []
    }
    func snapshot() throws -> [UInt8] {
        var v = count.littleEndian
        return withUnsafeBytes(of: &v) { Array($0) }
    }
    func restore(_ data: [UInt8]) throws {
        var v: UInt64 = 0
        for (i, b) in data.prefix(8).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        lock.lock(); applied = v; lock.unlock()
    }
}

/// A 3-node cluster in this process over loopback TCP, FileLog under a temp dir; either all
/// nodes on one UVHost (one loop thread) or one UVHost per node.
final class BenchCluster {
    enum HostMode: String, CaseIterable {
        case shared = "one-host"
        case perNode = "host-per-node"
    }

    let mode: HostMode
    let dir: String
    /// n1...n3, or as many as RAFTENGINE_BENCH_NODES says (the side-by-side 5-node runs).
    let ids: [NodeID] = (1...max(1, Int(ProcessInfo.processInfo.environment["RAFTENGINE_BENCH_NODES"] ?? "") ?? 3)).map { "n\($0)" }
    let addresses: [NodeID: String]
    let settings: ClusterSettings
    let snapshotThreshold: LogIndex
    private var hosts: [NodeID: UVHost] = [:]
    private(set) var nodes: [NodeID: HostedNode] = [:]
    private(set) var machines: [NodeID: CountingMachine] = [:]

    init(mode: HostMode, root: String, settings: ClusterSettings = .default, snapshotThreshold: LogIndex = 0) throws {
        self.mode = mode
        self.settings = settings
        self.snapshotThreshold = snapshotThreshold
        dir = root + "/cluster-" + UUID().uuidString
        let ports = freeLoopbackPorts(ids.count)
        addresses = Dictionary(uniqueKeysWithValues: zip(ids, ports.map { "127.0.0.1:\($0)" }))
        switch mode {
        case .shared:
            let h = try UVHost()
            for id in ids { hosts[id] = h }
        case .perNode:
            for id in ids { hosts[id] = try UVHost() }
        }
    }

    func dataDir(_ id: NodeID) -> String { "\(dir)/\(id)" }

    func start(_ id: NodeID) throws {
        var peers = addresses
        peers[id] = nil
        var cfg = RuntimeNodeConfig(id: id, dataDir: dataDir(id), listenAddress: addresses[id]!, peers: peers,
                                    clusterID: "bench", settings: settings, maxCommandSize: 1 << 20,
                                    commandTimeout: 10_000_000_000, snapshotThreshold: snapshotThreshold,
                                    snapshotTrailing: 1000)
        // RAFTENGINE_BENCH_SYNC=inline|leader|always: where the fsync runs (default: leader).
        if let p = ProcessInfo.processInfo.environment["RAFTENGINE_BENCH_SYNC"], let placement = SyncPlacement(rawValue: p) {
            cfg.syncPlacement = placement
        }
        // RAFTENGINE_BENCH_AUTH=1: peer authentication on (a handshake per connection).
        if ProcessInfo.processInfo.environment["RAFTENGINE_BENCH_AUTH"] == "1" {
            cfg.secrets = try ClusterSecrets(current: Array("raftengine benchmark cluster secret".utf8))
        }
        let m = CountingMachine()
        machines[id] = m
        let verbose = ProcessInfo.processInfo.environment["RAFTENGINE_BENCH_EVENTS"] != nil
        let t0 = monotonicNanos()
        nodes[id] = try hosts[id]!.startNode(cfg, stateMachine: m, onEvent: { event in
            // Errors always; with RAFTENGINE_BENCH_EVENTS set, every event with its time.
            switch event {
            case .error(let why):
                FileHandle.standardError.write(Data("\(id): error event: \(why)\n".utf8))
            default:
                if verbose {
                    let ms = Double(monotonicNanos() - t0) / 1e6
                    FileHandle.standardError.write(Data(String(format: "%10.1f ms %@: %@\n", ms, id, "\(event)").utf8))
                }
            }
        })
    }

    /// Every node's state and transport counters, for a run that stops making progress.
    func dumpState() -> String {
        ids.map { id in
            guard let n = nodes[id] else { return "\(id): not started" }
            return (n.debugState() ?? "\(id): stopped") + "\n   transport: \(n.transportStats)"
        }.joined(separator: "\n")
    }

    func startAll() throws { for id in ids { try start(id) } }

    func stop(_ id: NodeID) { nodes[id]?.stop() }

    /// A running node that believes it leads (from its published status).
    func leader(excluding: NodeID? = nil) -> HostedNode? {
        for id in ids where id != excluding {
            guard let n = nodes[id], let s = n.status(), !s.stopped, s.role == .leader else { continue }
            return n
        }
        return nil
    }

    /// Waits for a leader and for one command to commit through it (so its term's no-op is
    /// committed and the followers' links are up).
    func waitReady(timeout: Double = 15) -> HostedNode? {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if let l = leader(), case .applied = l.submitSync([0], timeout: 2) { return l }
            usleep(5_000)
        }
        return nil
    }

    /// Waits until every running node has applied the same index (or the timeout passes).
    @discardableResult
    func waitInSync(timeout: Double = 10) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            let applied = ids.compactMap { nodes[$0]?.status() }.filter { !$0.stopped }.map(\.appliedIndex)
            let commits = ids.compactMap { nodes[$0]?.status() }.filter { !$0.stopped }.map(\.commitIndex)
            if applied.count == ids.count, Set(applied).count == 1, applied.first == commits.max() { return true }
            usleep(2_000)
        }
        return false
    }

    func dataBytes() -> UInt64 { directoryBytes(dir) }

    func shutdown(removeData: Bool = true) {
        var seen = Set<ObjectIdentifier>()
        for h in hosts.values where seen.insert(ObjectIdentifier(h)).inserted { h.shutdown() }
        hosts.removeAll()
        nodes.removeAll()
        if removeData { try? FileManager.default.removeItem(atPath: dir) }
    }
}

/// Bytes of every regular file under `path` (recursively).
func directoryBytes(_ path: String) -> UInt64 {
    guard let e = FileManager.default.enumerator(atPath: path) else { return 0 }
    var total: UInt64 = 0
    while let name = e.nextObject() as? String {
        var st = stat()
        if lstat(path + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { total += UInt64(st.st_size) }
    }
    return total
}

/// Resident set size of this process, from /proc/self/statm (pages × page size).
func residentBytes() -> UInt64 {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = s.split(separator: " ")
    guard fields.count > 1, let pages = UInt64(fields[1]) else { return 0 }
    return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
}
