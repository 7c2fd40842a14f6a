import Foundation
import Testing
import RaftCore
import RaftStorage
import RaftUV

/// A MemoryLog whose sync can be made to fail, and which records that the runtime closed it.
/// Only the loop thread touches it while its node runs; tests read it after `stop`.
final class ScriptedLog: ClosableRaftLog, @unchecked Sendable {
    let inner = MemoryLog()
    var failSync = false
    var closes = 0

    var hardState: HardState { inner.hardState }
    func saveHardState(_ state: HardState) throws { try inner.saveHardState(state) }
    var commitIndex: LogIndex { inner.commitIndex }
    func saveCommitIndex(_ index: LogIndex) throws { try inner.saveCommitIndex(index) }
    var bootstrapConfig: ClusterConfig? { inner.bootstrapConfig }
    func saveBootstrapConfig(_ config: ClusterConfig) throws { try inner.saveBootstrapConfig(config) }
    var prefix: LogPosition { inner.prefix }
    var lastIndex: LogIndex { inner.lastIndex }
    func term(at index: LogIndex) -> Term? { inner.term(at: index) }
    func entries(from: LogIndex, through: LogIndex, maxBytes: Int) throws -> [Entry] {
        try inner.entries(from: from, through: through, maxBytes: maxBytes)
    }
    func append(_ entries: [Entry]) throws { try inner.append(entries) }
    func truncate(from index: LogIndex) throws { try inner.truncate(from: index) }
    func lastConfigIndex(atOrBefore index: LogIndex) -> LogIndex? { inner.lastConfigIndex(atOrBefore: index) }
    func saveSnapshot(_ meta: SnapshotMeta, data: [UInt8], compactThrough: LogIndex) throws {
        try inner.saveSnapshot(meta, data: data, compactThrough: compactThrough)
    }
    func installSnapshot(_ meta: SnapshotMeta, data: [UInt8]) throws { try inner.installSnapshot(meta, data: data) }
    var snapshotMeta: SnapshotMeta? { inner.snapshotMeta }
    func loadSnapshot() throws -> (meta: SnapshotMeta, data: [UInt8])? { try inner.loadSnapshot() }
    var isBroken: Bool { inner.isBroken }
    func setBroken(_ broken: Bool) throws { try inner.setBroken(broken) }
    func sync() throws {
        if failSync { throw LogError.io("scripted sync failure") }
        try inner.sync()
    }
    func close() { closes += 1 }
}

/// HostedNode runs on any RaftLog, not only FileLog: here MemoryLogs that outlive their nodes,
/// so a restart through the same object is a restart from durable storage.
@Suite(.serialized) struct HostLogTests {
    final class EventLog: @unchecked Sendable {
        let lock = NSLock()
        var events: [RaftEvent] = []
        func add(_ e: RaftEvent) { lock.lock(); events.append(e); lock.unlock() }
        var all: [RaftEvent] { lock.lock(); defer { lock.unlock() }; return events }
    }

    @Test func aClusterOnMemoryLogsCommitsRestartsAndCatchesUp() throws {
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        var logs: [NodeID: ScriptedLog] = [:]
        func start(_ id: NodeID) throws {
            let log = logs[id] ?? ScriptedLog()
            logs[id] = log
            let m = LockedCounter()
            c.machines[id] = m
            c.nodes[id] = try c.host.startNode(c.config(id), stateMachine: m, log: { log })
        }
        for id in c.ids { try start(id) }
        #expect(waitUntil { c.leader != nil })
        #expect(c.submit("5") == .applied(Array("5".utf8)))
        #expect(c.submit("2") == .applied(Array("7".utf8)))
        #expect(waitUntil { c.machines.values.allSatisfy { $0.total == 7 } })

        // A follower stops (its log is synced and closed) and misses a command.
        let l = try #require(c.leader)
        let f = c.ids.first { $0 != l }!
        c.nodes[f]!.stop()
        #expect(logs[f]!.closes == 1)
        let before = logs[f]!.lastIndex
        #expect(before >= 3 && logs[f]!.inner.syncCount > 0)
        #expect(c.submit("1") == .applied(Array("8".utf8)))

        // Restarted on the same log object, it replays its own entries, then catches up.
        try start(f)
        #expect(waitUntil { c.machines[f]!.total == 8 })
        // The runtime never touched the data dir: FileLog was not used.
        #expect(!FileManager.default.fileExists(atPath: c.dir))
        c.nodes[f]!.stop()
        #expect(logs[f]!.lastIndex > before)
    }

    @Test func aFailedSyncStopsTheNodeWithAStorageFailure() throws {
        let c = try LoopbackCluster(size: 1)
        defer { c.shutdown() }
        let log = ScriptedLog()
        let events = EventLog()
        let node = try c.host.startNode(c.config("n1"), stateMachine: LockedCounter(), log: { log }, onEvent: events.add)
        #expect(waitUntil { node.status()?.role == .leader })
        #expect(node.submitSync(Array("1".utf8), timeout: 3) == .applied(Array("1".utf8)))
        node.perform { _ in log.failSync = true }
        #expect(node.submitSync(Array("1".utf8), timeout: 3) == .stopped)
        #expect(waitUntil { node.isStopped })
        #expect(events.all.contains { if case .stopCommanded(.storageFailed) = $0 { return true } else { return false } })
        node.stop()
    }

    @Test func aLogFactoryThatThrowsRefusesTheStart() throws {
        let c = try LoopbackCluster(size: 1)
        defer { c.shutdown() }
        #expect(throws: StartError.corrupt(LogError.corrupt("bad").description)) {
            _ = try c.host.startNode(c.config("n1"), stateMachine: LockedCounter(), log: { throw LogError.corrupt("bad") })
        }
        #expect(throws: StartError.storage(LogError.io("down").description)) {
            _ = try c.host.startNode(c.config("n1"), stateMachine: LockedCounter(), log: { throw LogError.io("down") })
        }
        // The failed starts left nothing running: the id is free again.
        let n = try c.host.startNode(c.config("n1"), stateMachine: LockedCounter(), log: { MemoryLog() })
        #expect(waitUntil { n.status()?.role == .leader })
        n.stop()
    }
}

/// A node whose core stops itself answers every request still waiting (here a read it could
/// not confirm) with `.stopped`, instead of never calling back.
@Suite(.serialized) struct SelfStopAnswersTests {
    final class Outcomes: @unchecked Sendable {
        let lock = NSLock()
        var read: CommandOutcome?
        func set(_ f: (Outcomes) -> Void) { lock.lock(); f(self); lock.unlock() }
        func get<T>(_ f: (Outcomes) -> T) -> T { lock.lock(); defer { lock.unlock() }; return f(self) }
    }

    @Test func requestsWaitingWhenTheCoreStopsItselfAreAnswered() throws {
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        var logs: [NodeID: ScriptedLog] = [:]
        for id in c.ids {
            let log = ScriptedLog()
            logs[id] = log
            let m = LockedCounter()
            c.machines[id] = m
            c.nodes[id] = try c.host.startNode(c.config(id), stateMachine: m, log: { log })
        }
        #expect(waitUntil { c.leader != nil })
        #expect(c.submit("1") == .applied(Array("1".utf8)))
        let l = try #require(c.leader)
        // Its followers gone, the leader can confirm no read.
        for f in c.ids where f != l { c.nodes[f]!.stop() }
        let out = Outcomes()
        let leader = c.nodes[l]!
        leader.linearizableRead { o in out.set { $0.read = o } }
        usleep(100_000)
        #expect(out.get { $0.read } == nil)
        // Its disk fails: the next command's sync stops the node.
        logs[l]!.failSync = true
        _ = leader.submit(Array("2".utf8)) { _ in }
        #expect(waitUntil { out.get { $0.read != nil } })
        #expect(out.get { $0.read } == .stopped)
        #expect(leader.status()?.stopped == true)
    }
}
