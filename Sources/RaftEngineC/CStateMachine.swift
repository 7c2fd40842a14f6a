#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import RaftCore

/// Adapts the host's C callbacks to RaftCore's `StateMachine`. Results and snapshots come back
/// in malloc()ed buffers that this side copies and frees, as the header promises.
class CStateMachine: StateMachine {
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
    func takeBuffer(_ p: UnsafeMutablePointer<UInt8>?, _ n: Int) -> [UInt8] {
        guard let p else { return [] }
        defer { free(p) }
        guard n > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: p, count: n))
    }
}

/// The host's machine with its batch callback: one C call per run of committed commands.
final class CBatchStateMachine: CStateMachine, BatchStateMachine {
    let applyBatchFn: re_apply_batch_fn

    init(apply: re_apply_fn, applyBatch: re_apply_batch_fn, snapshot: re_snapshot_fn, restore: re_restore_fn,
         user: UnsafeMutableRawPointer?) {
        applyBatchFn = applyBatch
        super.init(apply: apply, snapshot: snapshot, restore: restore, user: user)
    }

    func applyBatch(_ commands: [(index: LogIndex, command: [UInt8])], stopAtFailure: Bool) -> [Result<[UInt8], Error>] {
        let n = commands.count
        var results = [re_apply_result](repeating: re_apply_result(status: 0, result: nil, result_len: 0), count: n)
        // One contiguous copy of the commands the views point into: pinning each array in turn
        // would nest a closure per command.
        var total = 0
        for c in commands { total += c.command.count }
        var packed = [UInt8]()
        packed.reserveCapacity(total)
        for c in commands { packed.append(contentsOf: c.command) }
        let processed: Int = packed.withUnsafeBufferPointer { base in
            var views = [re_command]()
            views.reserveCapacity(n)
            var offset = 0
            for c in commands {
                views.append(re_command(index: c.index, data: base.baseAddress.map { $0 + offset }, len: c.command.count))
                offset += c.command.count
            }
            return results.withUnsafeMutableBufferPointer { out in
                views.withUnsafeBufferPointer { v in applyBatchFn(user, v.baseAddress, n, stopAtFailure ? 1 : 0, out.baseAddress) }
            }
        }
        // The host's result buffers are borrowed (valid until its next callback): copied here.
        var out: [Result<[UInt8], Error>] = []
        out.reserveCapacity(min(processed, n))
        for i in 0..<min(processed, n) {
            let r = results[i]
            let bytes = r.result_len > 0 && r.result != nil ? Array(UnsafeBufferPointer(start: r.result, count: r.result_len)) : []
            if results[i].status == 0 {
                out.append(.success(bytes))
            } else if !bytes.isEmpty {
                out.append(.failure(ApplyRefused(description: String(decoding: bytes, as: UTF8.self))))
            } else {
                out.append(.failure(CallbackFailed(what: "apply_batch", code: results[i].status)))
            }
        }
        return out
    }
}
