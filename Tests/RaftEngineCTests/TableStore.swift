import CRaftEngineABI
import RaftCore
@testable import RaftEngineC

/// A host's storage behind `re_log_vtable`, written in Swift against the C types only: what the
/// table hands out lives in scratch buffers freed at the next call, as the header allows.
final class TableStore {
    var term: UInt64 = 0
    var votedFor: String?
    var commit: UInt64 = 0
    var bootstrap: [UInt8]?
    var prefixIndex: UInt64 = 0
    var prefixTerm: UInt64 = 0
    var entries: [(index: UInt64, term: UInt64, kind: Int32, data: [UInt8])] = []
    var snapshotMeta: [UInt8]?
    var snapshotData: [UInt8] = []
    var broken: Int32 = 0
    var closes = 0
    var calls: [String: Int] = [:]
    /// The named function fails (returns -7) from now on.
    var failing: Set<String> = []
    private var scratch: [UnsafeMutableRawPointer] = []

    deinit { release() }

    var lastIndex: UInt64 { prefixIndex + UInt64(entries.count) }

    /// Every call starts here: what the previous one handed out may go now.
    func begin(_ name: String) -> Bool {
        release()
        calls[name, default: 0] += 1
        return !failing.contains(name)
    }

    private func release() {
        for p in scratch { p.deallocate() }
        scratch.removeAll()
    }

    func hand(_ bytes: [UInt8]) -> UnsafePointer<UInt8>? {
        guard !bytes.isEmpty else { return nil }
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 1)
        p.copyMemory(from: bytes, byteCount: bytes.count)
        scratch.append(p)
        return UnsafePointer(p.assumingMemoryBound(to: UInt8.self))
    }

    func dropThrough(_ index: UInt64) {
        entries.removeAll { $0.index <= index }
    }

    static func of(_ user: UnsafeMutableRawPointer?) -> TableStore {
        Unmanaged<TableStore>.fromOpaque(user!).takeUnretainedValue()
    }

    static func bytes(_ p: UnsafePointer<UInt8>?, _ n: Int) -> [UInt8] {
        guard let p, n > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: p, count: n))
    }

    var user: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    static let table: re_log_vtable = {
        var t = re_log_vtable()
        t.size = MemoryLayout<re_log_vtable>.size
        t.load_hard_state = { u, term, voted in
            let s = of(u)
            guard s.begin("load_hard_state") else { return -7 }
            term!.pointee = s.term
            voted!.pointee = s.votedFor.map { v in UnsafeRawPointer(s.hand(Array(v.utf8) + [0])!).assumingMemoryBound(to: CChar.self) }
            return 0
        }
        t.save_hard_state = { u, term, voted in
            let s = of(u)
            guard s.begin("save_hard_state") else { return -7 }
            s.term = term
            s.votedFor = voted.map { String(cString: $0) }
            return 0
        }
        t.load_commit_index = { u, index in
            let s = of(u)
            guard s.begin("load_commit_index") else { return -7 }
            index!.pointee = s.commit
            return 0
        }
        t.save_commit_index = { u, index in
            let s = of(u)
            guard s.begin("save_commit_index") else { return -7 }
            s.commit = index
            return 0
        }
        t.load_bootstrap_config = { u, config, len in
            let s = of(u)
            guard s.begin("load_bootstrap_config") else { return -7 }
            config!.pointee = s.bootstrap.flatMap { s.hand($0) }
            len!.pointee = s.bootstrap?.count ?? 0
            return 0
        }
        t.save_bootstrap_config = { u, config, len in
            let s = of(u)
            guard s.begin("save_bootstrap_config") else { return -7 }
            s.bootstrap = bytes(config, len)
            return 0
        }
        t.load_bounds = { u, prefixIndex, prefixTerm, last in
            let s = of(u)
            guard s.begin("load_bounds") else { return -7 }
            prefixIndex!.pointee = s.prefixIndex
            prefixTerm!.pointee = s.prefixTerm
            last!.pointee = s.lastIndex
            return 0
        }
        t.read_entries = { u, from, through, put, ctx in
            let s = of(u)
            guard s.begin("read_entries") else { return -7 }
            // Positional, as an array-backed store reads: what lies where the index should be.
            let start = Int(from - s.prefixIndex - 1), end = Int(through - s.prefixIndex - 1)
            guard start >= 0, start <= end, end < s.entries.count else { return -22 }
            for e in s.entries[start...end] {
                let stop = e.data.withUnsafeBufferPointer { d in
                    var r = re_log_entry(index: e.index, term: e.term, kind: e.kind, data: d.baseAddress, data_len: d.count)
                    return put!(ctx, &r)
                }
                if stop != 0 { break }
            }
            return 0
        }
        t.append = { u, entries, count in
            let s = of(u)
            guard s.begin("append") else { return -7 }
            for r in UnsafeBufferPointer(start: entries, count: count) {
                s.entries.append((r.index, r.term, r.kind, bytes(r.data, r.data_len)))
            }
            return 0
        }
        t.truncate = { u, from in
            let s = of(u)
            guard s.begin("truncate") else { return -7 }
            s.entries.removeAll { $0.index >= from }
            return 0
        }
        t.save_snapshot = { u, meta, metaLen, data, dataLen, through, throughTerm in
            let s = of(u)
            guard s.begin("save_snapshot") else { return -7 }
            s.snapshotMeta = bytes(meta, metaLen)
            s.snapshotData = bytes(data, dataLen)
            if through > s.prefixIndex {
                s.dropThrough(through)
                s.prefixIndex = through
                s.prefixTerm = throughTerm
            }
            return 0
        }
        t.install_snapshot = { u, meta, metaLen, data, dataLen, index, term, keep in
            let s = of(u)
            guard s.begin("install_snapshot") else { return -7 }
            s.snapshotMeta = bytes(meta, metaLen)
            s.snapshotData = bytes(data, dataLen)
            if keep != 0 { s.dropThrough(index) } else { s.entries.removeAll() }
            s.prefixIndex = index
            s.prefixTerm = term
            return 0
        }
        t.load_snapshot = { u, meta, metaLen, data, dataLen in
            let s = of(u)
            guard s.begin("load_snapshot") else { return -7 }
            meta!.pointee = s.snapshotMeta.flatMap { s.hand($0) }
            metaLen!.pointee = s.snapshotMeta?.count ?? 0
            data!.pointee = s.hand(s.snapshotData)
            dataLen!.pointee = s.snapshotData.count
            return 0
        }
        t.load_broken = { u, broken in
            let s = of(u)
            guard s.begin("load_broken") else { return -7 }
            broken!.pointee = s.broken
            return 0
        }
        t.save_broken = { u, broken in
            let s = of(u)
            guard s.begin("save_broken") else { return -7 }
            s.broken = broken
            return 0
        }
        t.sync = { u in of(u).begin("sync") ? 0 : -7 }
        t.close = { u in
            let s = of(u)
            _ = s.begin("close")
            s.closes += 1
        }
        return t
    }()

    func open() throws -> CHostLog { try CHostLog(table: Self.table, user: user) }
}
