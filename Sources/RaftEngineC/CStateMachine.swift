#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import RaftCore

/// Adapts the host's C callbacks to RaftCore's `StateMachine`. Results and snapshots come back
/// in malloc()ed buffers that this side copies and frees, as the header promises.
final class CStateMachine: StateMachine {
    struct CallbackFailed: Error, CustomStringConvertible {
        var what: String
        var code: Int32
        var description: String { "\(what) callback returned \(code)" }
    }

    /// A failed apply with the host's own words (the result buffer of a non-zero return).
    struct ApplyRefused: Error, CustomStringConvertible {
        var description: String
    }

    let applyFn: re_apply_fn
    let snapshotFn: re_snapshot_fn
    let restoreFn: re_restore_fn
    let user: UnsafeMutableRawPointer?

    init(apply: re_apply_fn, snapshot: re_snapshot_fn, restore: re_restore_fn, user: UnsafeMutableRawPointer?) {
        applyFn = apply
        snapshotFn = snapshot
        restoreFn = restore
        self.user = user
    }

    func apply(_ command: [UInt8], index: LogIndex) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var outLen = 0
        let rc = command.withUnsafeBufferPointer { buf in
            applyFn(user, index, buf.baseAddress, buf.count, &out, &outLen)
        }
        let result = takeBuffer(out, outLen)
        guard rc == 0 else {
            if !result.isEmpty { throw ApplyRefused(description: String(decoding: result, as: UTF8.self)) }
            throw CallbackFailed(what: "apply", code: rc)
        }
        return result
    }

    func snapshot() throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var outLen = 0
        let rc = snapshotFn(user, &out, &outLen)
        let data = takeBuffer(out, outLen)
        guard rc == 0 else { throw CallbackFailed(what: "snapshot", code: rc) }
        return data
    }

    func restore(_ data: [UInt8]) throws {
        let rc = data.withUnsafeBufferPointer { restoreFn(user, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw CallbackFailed(what: "restore", code: rc) }
    }

    /// Copies and frees a buffer the host allocated with malloc().
    private func takeBuffer(_ p: UnsafeMutablePointer<UInt8>?, _ n: Int) -> [UInt8] {
        guard let p else { return [] }
        defer { free(p) }
        guard n > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: p, count: n))
    }
}
