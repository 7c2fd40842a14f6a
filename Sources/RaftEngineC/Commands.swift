#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import RaftCore
import RaftUV

/// Submitting commands, asynchronously and blocking.
/// Validates a command buffer and the node before it is queued; 0 or a failure's code.
private func checkCommand(_ n: NodeBox, _ data: UnsafePointer<UInt8>?, _ len: Int) -> Int32 {
    if data == nil && len > 0 { return fail(.einval, "command is NULL but its length is \(len)") }
    if len > n.maxCommandSize { return fail(.etoobig, RaftError.commandTooLarge(size: len, max: n.maxCommandSize).description) }
    if n.node.isStopped { return fail(.estopped, RaftError.stopped.description) }
    return 0
}

@_cdecl("re_node_submit")
public func re_node_submit(_ node: OpaquePointer?, _ data: UnsafePointer<UInt8>?, _ len: Int,
                           _ done: re_done_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let n = box(node, NodeBox.self) else { return fail(.einval, "node is NULL") }
    let check = checkCommand(n, data, len)
    guard check == 0 else { return check }
    let bytes = len > 0 ? Array(UnsafeBufferPointer(start: data, count: len)) : []
    let queued = n.node.submit(bytes) { outcome in deliver(done, user, outcome) }
    return queued ? 0 : fail(.estopped, RaftError.stopped.description)
}

/// Copies `s` into a caller's buffer of `cap` bytes, NUL-terminated and truncated to fit.
func copyOut(_ s: String, _ dst: UnsafeMutablePointer<CChar>?, _ cap: Int) {
    guard let dst, cap > 0 else { return }
    let bytes = Array(s.utf8.prefix(cap - 1))
    for (i, b) in bytes.enumerated() { dst[i] = CChar(bitPattern: b) }
    dst[bytes.count] = 0
}

@_cdecl("re_node_submit_sync")
public func re_node_submit_sync(_ node: OpaquePointer?, _ data: UnsafePointer<UInt8>?, _ len: Int, _ timeoutMs: UInt32,
                                _ result: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?, _ resultLen: UnsafeMutablePointer<Int>?,
                                _ leaderID: UnsafeMutablePointer<CChar>?, _ leaderAddress: UnsafeMutablePointer<CChar>?,
                                _ leaderCap: Int) -> Int32 {
    guard let n = box(node, NodeBox.self) else { return fail(.einval, "node is NULL") }
    result?.pointee = nil
    resultLen?.pointee = 0
    let check = checkCommand(n, data, len)
    guard check == 0 else { return check }
    let bytes = len > 0 ? Array(UnsafeBufferPointer(start: data, count: len)) : []
    let outcome = n.node.submitSync(bytes, timeout: Double(timeoutMs) / 1000)
    switch outcome {
    case .applied(let r):
        if let result, !r.isEmpty, let p = malloc(r.count)?.assumingMemoryBound(to: UInt8.self) {
            r.withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: r.count) }
            result.pointee = p
            resultLen?.pointee = r.count
        }
    case .redirect(let l, let a):
        copyOut(l, leaderID, leaderCap)
        copyOut(a, leaderAddress, leaderCap)
    default:
        break
    }
    return outcome.status == .ok ? 0 : fail(outcome.status, outcome.message)
}


@_cdecl("re_node_submit_batch")
public func re_node_submit_batch(_ node: OpaquePointer?, _ data: UnsafePointer<UInt8>?, _ lens: UnsafePointer<Int>?,
                                 _ count: Int, _ firstTag: UInt64, _ done: re_batch_done_fn?,
                                 _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let n = box(node, NodeBox.self) else { return fail(.einval, "node is NULL") }
    guard count > 0 else { return fail(.einval, "count must be at least 1") }
    guard let lens else { return fail(.einval, "lens is NULL") }
    var commands: [[UInt8]] = []
    commands.reserveCapacity(count)
    var offset = 0
    for i in 0..<count {
        let len = lens[i]
        if len > n.maxCommandSize {
            return fail(.etoobig, "command \(i): " + RaftError.commandTooLarge(size: len, max: n.maxCommandSize).description)
        }
        if len > 0 {
            guard let data else { return fail(.einval, "data is NULL but command \(i) has \(len) bytes") }
            commands.append(Array(UnsafeBufferPointer(start: data + offset, count: len)))
        } else {
            commands.append([])
        }
        offset += len
    }
    if n.node.isStopped { return fail(.estopped, RaftError.stopped.description) }
    let queued = n.node.submitBatch(commands) { outcomes in
        guard let done else { return }
        deliverBatch(outcomes, firstTag: firstTag, to: done, user: user)
    }
    return queued ? 0 : fail(.estopped, RaftError.stopped.description)
}
