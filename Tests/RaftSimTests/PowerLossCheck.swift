import RaftCore
import RaftSim
import RaftStorage

/// The check after a power-loss workload: the log at `dir` reopens (no corruption error),
/// every entry `vouched` (index → term, made durable by a sync) is there with its term, and
/// terms never go down. Returns what is wrong, or nil.
func problemAfterPowerLoss(reopening dir: String, options: FileLog.Options, on disk: SimDisk,
                           vouched: [LogIndex: Term]) -> String? {
    let reopened: FileLog
    do { reopened = try FileLog(directory: dir, options: options, fileSystem: disk) } catch {
        return "reopen after power loss: \(error)"
    }
    defer { reopened.close() }
    for (i, t) in vouched.sorted(by: { $0.key < $1.key }) {
        guard let got = reopened.term(at: i) else {
            return "entry \(i) (term \(t)) was vouched durable and is gone (last \(reopened.lastIndex))"
        }
        if got != t { return "entry \(i): term \(got) after the power loss, \(t) vouched" }
    }
    var previous: Term = 0
    if reopened.lastIndex >= reopened.firstIndex {
        for i in reopened.firstIndex...reopened.lastIndex {
            guard let t = reopened.term(at: i) else { return "no term at \(i) inside the log" }
            if t < previous { return "terms go down at \(i): \(previous) then \(t)" }
            previous = t
        }
    }
    return nil
}

/// The same check byte for byte: every entry `vouched` (index → entry) is back unchanged.
func problemAfterPowerLoss(reopening dir: String, options: FileLog.Options, on disk: SimDisk,
                           vouchedEntries vouched: [LogIndex: Entry]) -> String? {
    let reopened: FileLog
    do { reopened = try FileLog(directory: dir, options: options, fileSystem: disk) } catch {
        return "reopen after power loss: \(error)"
    }
    defer { reopened.close() }
    for (i, e) in vouched.sorted(by: { $0.key < $1.key }) {
        guard let got = try? reopened.entry(at: i) else {
            return "entry \(i) (term \(e.term)) was synced and is gone (last \(reopened.lastIndex))"
        }
        if got != e { return "entry \(i) differs after the power loss" }
    }
    return nil
}
