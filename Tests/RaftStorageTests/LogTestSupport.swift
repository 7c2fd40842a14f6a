import Foundation
import RaftCore
import RaftStorage

/// A fresh directory under the system temporary directory, removed when released.
final class TemporaryDirectory {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("raftlog-\(UUID().uuidString)").path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    func names() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    var segmentNames: [String] { names().filter { $0.hasPrefix("segment-") } }

    /// A copy of the directory as a crash would leave it: the files, without the lock holder.
    func copy() throws -> TemporaryDirectory {
        let copy = TemporaryDirectory()
        try FileManager.default.copyItem(atPath: path, toPath: copy.path)
        return copy
    }

    func bytes(of name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: file(name))))
    }

    func write(_ bytes: [UInt8], to name: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: file(name)))
    }

    func truncate(_ name: String, to size: Int) throws {
        try write(Array(bytes(of: name)[0..<size]), to: name)
    }

    /// Zeroes bytes `from..<to` and appends `extra` zero bytes: how a preallocated segment looks
    /// after a crash that lost those bytes' writes.
    func zero(_ name: String, from: Int, to: Int, thenAppend extra: Int) throws {
        var b = try bytes(of: name)
        for i in from..<to { b[i] = 0 }
        b += [UInt8](repeating: 0, count: extra)
        try write(b, to: name)
    }

    func flipByte(of name: String, at offset: Int) throws {
        var b = try bytes(of: name)
        b[offset] ^= 0x5A
        try write(b, to: name)
    }

    func remove(_ name: String) throws { try FileManager.default.removeItem(atPath: file(name)) }
}

/// An entry with `size` bytes of data derived from its index.
func entry(_ index: LogIndex, term: Term, kind: EntryKind = .command, size: Int = 8) -> Entry {
    Entry(index: index, term: term, kind: kind,
          data: (0..<size).map { UInt8(truncatingIfNeeded: Int(index) &* 31 &+ $0) })
}

/// Entries first...last, all in `term`.
func entries(_ range: ClosedRange<LogIndex>, term: Term, size: Int = 8) -> [Entry] {
    range.map { entry($0, term: term, size: size) }
}

/// Bytes a FileLog record of `entry` takes in a segment: frame header, type byte, entry.
func recordSize(of entry: Entry) -> Int {
    var w = ByteWriter()
    entry.encode(into: &w)
    return 8 + 1 + w.bytes.count
}

let threeVoters = ClusterConfig(voters: ["a", "b", "c"])

/// Runs `body` and returns the `LogError` it threw, or nil.
func logError(_ body: () throws -> Void) -> LogError? {
    do {
        try body()
        return nil
    } catch let error as LogError {
        return error
    } catch {
        return .io("unexpected error \(error)")
    }
}

/// Runs `work` on a thread of its own and waits for it (the runtime's sync thread, for the
/// jobs a FileLog hands out: fdatasyncs and snapshot file writes).
func runOnAnotherThread(_ work: @escaping () -> Void) {
    final class Box { let work: () -> Void; init(_ w: @escaping () -> Void) { work = w } }
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(work)).toOpaque()
    pthread_create(&thread, nil, { arg in
        Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue().work()
        return nil
    }, box)
    pthread_join(thread, nil)
}
