import RaftCore
import RaftSim
import RaftStorage
import Testing

/// Deferred snapshot writes (`deferSnapshotWrites`, FileLog+SnapshotWrite) on a SimDisk under
/// power loss: random workloads of appends, inline syncs, follower truncations, snapshots saved
/// (superseding one pending), their jobs begun, run and finished late, installs from a leader,
/// and the power cut at a random call. After it the log must open, hold every entry a sync
/// vouched for unless a snapshot it holds covers it, name a snapshot no older than the last
/// one finished, and read back exactly the bytes saved with that snapshot.
@Suite struct FileLogDeferredSnapshotPowerLossTests {
    static let dir = "/data/log"
    static let options = FileLog.Options(segmentSize: 2_048, maxRecordSize: 512, cacheEntries: 4)

    static func snapshotData(_ index: LogIndex, _ serial: Int) -> [UInt8] {
        [UInt8](repeating: UInt8(index & 0xFF), count: 100 + Int(index % 700)) + [UInt8(serial & 0xFF)]
    }

    /// One seed's workload; returns what went wrong (nil: nothing).
    static func run(seed: UInt64, steps: Int) -> String? {
        var rng = SplitMix64(seed: seed)
        func roll(_ n: UInt64) -> UInt64 { rng.next() % n }
        let disk = SimDisk.seeded(&rng, directory: dir)
        let log: FileLog
        do { log = try FileLog(directory: dir, options: options, fileSystem: disk) } catch { return "open: \(error)" }
        log.deferSnapshotWrites = true
        // Somewhere in the workload (or after it) the power goes out.
        disk.powerCut(atCall: disk.calls + Int(roll(UInt64(steps) * 6)))

        var terms: [LogIndex: Term] = [:]  // what the log holds now
        var vouched: [LogIndex: Term] = [:]  // durable by an inline sync or a finish
        var saved: [LogIndex: (meta: SnapshotMeta, data: [UInt8])] = [:]  // every snapshot saved or installed
        var finishedIndex: LogIndex = 0  // the newest snapshot known durable
        var snapshotIndex: LogIndex = 0  // the newest snapshot saved or installed
        var last: LogIndex = 0
        var term: Term = 1
        var job: SnapshotWrite?
        var ran = false
        var serial = 0
        let config = ClusterConfig(voters: ["a", "b", "c"])

        func vouchAll() { for (i, t) in terms { vouched[i] = t } }
        workload: for _ in 0..<steps {
            do {
                switch roll(100) {
                case 0..<35:  // appends
                    let n = 1 + LogIndex(roll(6))
                    let batch = (last + 1...last + n).map {
                        Entry(index: $0, term: term, kind: .command, data: [UInt8](repeating: UInt8($0 & 0xFF), count: 20 + Int($0 % 90)))
                    }
                    try log.append(batch)
                    for e in batch { terms[e.index] = e.term }
                    last += n
                case 35..<47:  // an inline sync
                    try log.sync()
                    vouchAll()
                case 47..<52 where last > max(snapshotIndex, log.prefix.index) + 1:  // a conflicting suffix goes
                    let floor = max(snapshotIndex, log.prefix.index) + 1
                    let from = max(floor, last - LogIndex(roll(min(last - floor, 6) + 1)))
                    // No longer promised, even if the power cut interrupts the cut.
                    for i in from...last {
                        terms[i] = nil
                        vouched[i] = nil
                    }
                    try log.truncate(from: from)
                    last = from - 1
                    term += 1
                case 52..<64 where last > snapshotIndex:  // a snapshot at an applied index (supersedes one pending)
                    let index = snapshotIndex + 1 + LogIndex(roll(last - snapshotIndex))
                    guard let t = terms[index] else { return "no term at \(index) to snapshot" }
                    serial += 1
                    let meta = SnapshotMeta(index: index, term: t, config: config)
                    let data = snapshotData(index, serial)
                    let trailing = LogIndex(roll(8))
                    saved[index] = (meta, data)
                    try log.saveSnapshot(meta, data: data, compactThrough: index > trailing ? index - trailing : 0)
                    snapshotIndex = index
                    if log.snapshotMeta != meta { return "snapshotMeta is not the snapshot just saved" }
                case 64..<74 where job == nil:  // its write is handed out
                    job = log.beginSnapshotWrite()
                    ran = false
                case 74..<84 where job != nil && !ran:  // the sync thread runs it
                    job!.run()
                    ran = true
                case 84..<94 where job != nil && ran:  // the loop finishes it
                    let finishing = job!
                    let current = log.snapshotMeta?.index == finishing.index
                    job = nil
                    if let error = finishing.error { throw error }
                    try log.finishSnapshotWrite(finishing)
                    if current {
                        finishedIndex = finishing.index
                        vouchAll()  // the finish synced the segment before the metadata
                    }
                case 94..<97:  // a leader's snapshot beyond our log
                    let index = last + 1 + LogIndex(roll(4))
                    term += 1
                    serial += 1
                    let meta = SnapshotMeta(index: index, term: term, config: config)
                    let data = snapshotData(index, serial)
                    // Recorded first: a power cut inside the install may leave it in force.
                    saved[index] = (meta, data)
                    try log.installSnapshot(meta, data: data)
                    terms = [:]
                    vouched = [:]
                    last = index
                    snapshotIndex = index
                    finishedIndex = index
                default:
                    break
                }
            } catch {
                // The power went out (every call fails from then on): the process is done.
                if disk.powerCutAt.map({ disk.calls > $0 }) == true { break workload }
                return "\(error) before the power cut"
            }
        }

        disk.powerLoss(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        let reopened: FileLog
        do { reopened = try FileLog(directory: dir, options: options, fileSystem: disk) } catch {
            return "reopen after power loss: \(error)"
        }
        defer { reopened.close() }
        let snapshot: (meta: SnapshotMeta, data: [UInt8])?
        do { snapshot = try reopened.loadSnapshot() } catch { return "loading the snapshot: \(error)" }
        let held = snapshot?.meta.index ?? 0
        if held < finishedIndex { return "snapshot \(held) after the power loss, \(finishedIndex) was finished" }
        if let snapshot {
            guard let expected = saved[snapshot.meta.index] else { return "snapshot \(held) was never saved" }
            if snapshot.meta != expected.meta { return "snapshot \(held): meta \(snapshot.meta), saved \(expected.meta)" }
            if snapshot.data != expected.data { return "snapshot \(held): its data differs from what was saved" }
        }
        if reopened.prefix.index > held { return "prefix \(reopened.prefix.index) beyond the snapshot \(held)" }
        for (i, t) in vouched.sorted(by: { $0.key < $1.key }) where i > reopened.prefix.index {
            guard let got = reopened.term(at: i) else {
                return "entry \(i) (term \(t)) was vouched durable and is gone (prefix \(reopened.prefix.index), last \(reopened.lastIndex))"
            }
            if got != t { return "entry \(i): term \(got) after the power loss, \(t) vouched" }
        }
        if reopened.lastIndex < reopened.prefix.index { return "the log ends before its prefix" }
        // The files left are the ones the metadata names: orphans of unfinished jobs are gone.
        let snapshotFiles = disk.files(in: dir).filter { $0.contains("snapshot-") }
        if snapshotFiles.count != (snapshot == nil ? 0 : 1) { return "snapshot files after reopening: \(snapshotFiles)" }
        return nil
    }

    @Test func deferredSnapshotsSurviveAPowerCutAtAnyPoint() {
        var problems: [String] = []
        for seed in UInt64(1)...400 {
            if let p = Self.run(seed: seed, steps: 150) { problems.append("seed \(seed): \(p)") }
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
    }
}
