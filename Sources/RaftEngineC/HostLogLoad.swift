import CRaftEngineABI
import RaftCore

/// Reading a host's storage: everything `CHostLog` keeps, loaded once at start and checked for
/// consistency, plus the reads it makes later (entries, the snapshot). What the host hands out
/// is its own memory, valid until the next call into its table: it is copied at once.
struct HostLogLoad {
    var hardState: HardState
    var commitIndex: LogIndex
    var bootstrapConfig: ClusterConfig?
    var prefix: LogPosition
    var snapshot: (meta: SnapshotMeta, data: [UInt8])?
    var isBroken: Bool
    var kept: RetainedEntries

    init(table t: re_log_vtable, user: UnsafeMutableRawPointer?) throws {
        var term: UInt64 = 0
        var votedFor: UnsafePointer<CChar>?
        try Self.load("load_hard_state") { t.load_hard_state!(user, &term, &votedFor) }
        let vote = votedFor.map { String(cString: $0) }
        hardState = HardState(term: term, votedFor: vote?.isEmpty == false ? vote : nil)

        var commit: UInt64 = 0
        try Self.load("load_commit_index") { t.load_commit_index!(user, &commit) }
        commitIndex = commit

        var config: UnsafePointer<UInt8>?
        var configLen = 0
        try Self.load("load_bootstrap_config") { t.load_bootstrap_config!(user, &config, &configLen) }
        if let bytes = Self.bytes(config, configLen) {
            do { bootstrapConfig = try ClusterConfig(decoding: bytes) } catch {
                throw LogError.corrupt("host storage: the bootstrap configuration does not decode: \(error)")
            }
        }

        var prefixIndex: UInt64 = 0, prefixTerm: UInt64 = 0, last: UInt64 = 0
        try Self.load("load_bounds") { t.load_bounds!(user, &prefixIndex, &prefixTerm, &last) }
        guard last >= prefixIndex else {
            throw LogError.corrupt("host storage: last index \(last) lies below the prefix \(prefixIndex)")
        }
        prefix = LogPosition(index: prefixIndex, term: prefixTerm)

        snapshot = try Self.snapshot(table: t, user: user)
        // Entries are compacted only into a snapshot that covers them.
        if prefixIndex > 0 && (snapshot?.meta.index ?? 0) < prefixIndex {
            throw LogError.corrupt("host storage: entries through \(prefixIndex) are compacted but no snapshot covers them")
        }

        var broken: Int32 = 0
        try Self.load("load_broken") { t.load_broken!(user, &broken) }
        isBroken = broken != 0

        // Every retained entry once, for the terms and configuration positions kept here.
        kept = RetainedEntries(after: prefixIndex)
        var next = prefixIndex + 1
        var lastTerm = prefixTerm
        while next <= last {
            for e in try Self.read(table: t, user: user, from: next, through: last, maxBytes: CHostLog.startReadBytes) {
                guard e.term >= lastTerm else {
                    throw LogError.corrupt("host storage: entry \(e.index) has term \(e.term), below the \(lastTerm) before it")
                }
                lastTerm = e.term
                kept.append(index: e.index, term: e.term, kind: e.kind)
                next += 1
            }
        }
    }

    /// Entries from...through (retained ones) by read_entries, stopping at `maxBytes` of data
    /// (always at least one entry).
    static func read(table t: re_log_vtable, user: UnsafeMutableRawPointer?, from: LogIndex, through: LogIndex,
                     maxBytes: Int) throws -> [Entry] {
        let sink = EntrySink(from: from, through: through, maxBytes: maxBytes)
        let ctx = Unmanaged.passUnretained(sink).toOpaque()
        let rc = withExtendedLifetime(sink) {
            t.read_entries!(user, from, through, { ctx, entry in
                guard let ctx, let entry else { return 1 }
                return Unmanaged<EntrySink>.fromOpaque(ctx).takeUnretainedValue().take(entry.pointee)
            }, ctx)
        }
        guard rc == 0 else { throw LogError.io("host storage: read_entries returned \(rc)") }
        if let problem = sink.problem { throw LogError.corrupt("host storage: read_entries \(problem)") }
        guard !sink.entries.isEmpty, sink.full || sink.next > through else {
            throw LogError.corrupt("host storage: read_entries gave entries \(from) to \(sink.next - 1) of \(from) to \(through)")
        }
        return sink.entries
    }

    /// The stored snapshot, nil when there is none.
    static func snapshot(table t: re_log_vtable, user: UnsafeMutableRawPointer?) throws -> (meta: SnapshotMeta, data: [UInt8])? {
        var meta: UnsafePointer<UInt8>?, metaLen = 0
        var data: UnsafePointer<UInt8>?, dataLen = 0
        try load("load_snapshot") { t.load_snapshot!(user, &meta, &metaLen, &data, &dataLen) }
        guard let metaBytes = bytes(meta, metaLen) else { return nil }
        guard let m = decode(metaBytes) else { throw LogError.corrupt("host storage: the snapshot's metadata does not decode") }
        return (m, bytes(data, dataLen) ?? [])
    }

    /// The snapshot metadata as the host stores it: a version byte, so a later layout can be
    /// told apart from this one, then the wire encoding.
    static let metaVersion: UInt8 = 1

    static func encode(_ meta: SnapshotMeta) -> [UInt8] {
        var w = ByteWriter()
        w.u8(metaVersion)
        meta.encode(into: &w)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) -> SnapshotMeta? {
        var r = ByteReader(bytes)
        guard (try? r.u8()) == metaVersion, let m = try? SnapshotMeta(from: &r), (try? r.expectEnd()) != nil else { return nil }
        return m
    }

    private static func load(_ name: String, _ call: () -> Int32) throws {
        let rc = call()
        guard rc == 0 else { throw LogError.io("host storage: \(name) returned \(rc)") }
    }

    /// A copy of what the host handed out; nil for none (NULL or empty).
    private static func bytes(_ p: UnsafePointer<UInt8>?, _ n: Int) -> [UInt8]? {
        guard let p, n > 0 else { return nil }
        return Array(UnsafeBufferPointer(start: p, count: n))
    }
}

/// Takes the entries a host's read_entries gives `put`, checking that they run on from `from`.
private final class EntrySink {
    private(set) var next: LogIndex
    let through: LogIndex
    let maxBytes: Int
    private var bytes = 0
    private(set) var entries: [Entry] = []
    /// Set when the byte budget stopped the read.
    private(set) var full = false
    private(set) var problem: String?

    init(from: LogIndex, through: LogIndex, maxBytes: Int) {
        next = from
        self.through = through
        self.maxBytes = maxBytes
    }

    /// put's answer: 0 for more, 1 to stop.
    func take(_ e: re_log_entry) -> Int32 {
        guard next <= through else { return 1 }
        guard e.index == next else {
            problem = "gave index \(e.index) where \(next) was due"
            return 1
        }
        guard let raw = UInt8(exactly: e.kind), let kind = EntryKind(rawValue: raw) else {
            problem = "gave entry \(e.index) the unknown kind \(e.kind)"
            return 1
        }
        guard e.data != nil || e.data_len == 0 else {
            problem = "gave entry \(e.index) \(e.data_len) bytes of data at NULL"
            return 1
        }
        if !entries.isEmpty && bytes + e.data_len > maxBytes {
            full = true
            return 1
        }
        let data = e.data_len > 0 ? Array(UnsafeBufferPointer(start: e.data, count: e.data_len)) : []
        entries.append(Entry(index: e.index, term: e.term, kind: kind, data: data))
        bytes += e.data_len
        next += 1
        return next > through ? 1 : 0
    }
}
