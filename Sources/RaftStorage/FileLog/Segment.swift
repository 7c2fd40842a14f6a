import Glibc
import RaftCore

/// The fixed header at the start of each segment file. It names the segment and the index its
/// first entry has, so recovery can check that consecutive segments join without a gap even
/// when a segment holds no entry yet.
struct SegmentHeader: Equatable {
    static let magic = Array("RAFTSEG1".utf8)
    static let size = 8 + 8 + 8 + 4

    var id: UInt64
    var firstIndex: LogIndex

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.raw(Self.magic)
        w.u64(id)
        w.u64(firstIndex)
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// Nil unless `bytes` starts with an intact header.
    init?(decoding bytes: [UInt8]) {
        guard bytes.count >= Self.size, Array(bytes[0..<8]) == Self.magic else { return nil }
        var r = ByteReader(Array(bytes[0..<Self.size]), offset: 8)
        guard let id = try? r.u64(), let first = try? r.u64(), let crc = try? r.u32(),
              crc == CRC32C.checksum(Array(bytes[0..<(Self.size - 4)])) else { return nil }
        self.id = id
        self.firstIndex = first
    }

    init(id: UInt64, firstIndex: LogIndex) {
        self.id = id
        self.firstIndex = firstIndex
    }
}

/// A segment the log retains: its id and the index its first entry has (or will have).
struct SegmentInfo: Equatable {
    let id: UInt64
    let firstIndex: LogIndex
    var name: String { LogFileName.segment(id) }
}

/// The segment appends go to. New frames collect in `buffer` and reach the OS in one write at
/// the next flush, so a burst of appends costs one write and, at `sync()`, one fdatasync.
///
/// The file is kept allocated ahead of the writes (`preallocationStep` bytes at a time, reading as
/// zeros): an fdatasync after an append inside allocated space need not commit a file-size
/// change to the file system journal, which makes it cheaper and lets the fsyncs of several
/// logs on one disk overlap better. Recovery reads an all-zero end as unused space.
final class ActiveSegment {
    static let maxPreallocationStep = 4 << 20

    let info: SegmentInfo
    private let fd: Int32
    private let directory: LogDirectory
    /// Bytes handed to the OS (they may not be durable yet).
    private(set) var writtenSize: Int
    /// The file's size: the written bytes plus zero-filled space allocated ahead.
    private var allocatedSize: Int
    /// 0 when the file is not preallocated (switched off, or the file system cannot).
    private var preallocationStep: Int
    private(set) var buffer: [UInt8] = []
    private var needsDataSync = false
    /// Written bytes were cut off and the cut is not durable yet. It must become durable
    /// before new bytes land at the same offsets, or a crash could mix old and new records.
    private var cutPending = false

    var size: Int { writtenSize + buffer.count }
    var holdsRecords: Bool { size > SegmentHeader.size }

    private init(info: SegmentInfo, fd: Int32, directory: LogDirectory, writtenSize: Int, allocatedSize: Int,
                 preallocationStep: Int) {
        self.info = info
        self.fd = fd
        self.directory = directory
        self.writtenSize = writtenSize
        self.allocatedSize = allocatedSize
        self.preallocationStep = preallocationStep
    }

    /// Creates the segment file with its header, durable before the metadata may count it.
    static func create(_ info: SegmentInfo, in directory: LogDirectory, preallocationStep: Int) throws -> ActiveSegment {
        let path = directory.file(info.name)
        let fd = try Posix.open(path, flags: O_RDWR | O_CREAT | O_TRUNC)
        do {
            try Posix.write(fd, SegmentHeader(id: info.id, firstIndex: info.firstIndex).encoded(), at: 0, path: path)
            let segment = ActiveSegment(info: info, fd: fd, directory: directory, writtenSize: SegmentHeader.size,
                                        allocatedSize: SegmentHeader.size, preallocationStep: preallocationStep)
            try segment.allocate(through: SegmentHeader.size + 1)
            try directory.dataSync(fd, name: info.name)
            return segment
        } catch {
            Posix.close(fd)
            throw error
        }
    }

    /// Opens an existing segment to continue it after its last intact record at `validSize`.
    static func open(_ info: SegmentInfo, validSize: Int, in directory: LogDirectory,
                     preallocationStep: Int) throws -> ActiveSegment {
        let path = directory.file(info.name)
        let fd = try Posix.open(path, flags: O_RDWR)
        do {
            let size = try Posix.fileSize(fd, path: path)
            precondition(validSize <= size, "a segment's records cannot end past its file")
            return ActiveSegment(info: info, fd: fd, directory: directory, writtenSize: validSize,
                                 allocatedSize: size, preallocationStep: preallocationStep)
        } catch {
            Posix.close(fd)
            throw error
        }
    }

    func append(frameOf payload: [UInt8]) {
        RecordFrame.append(payload, to: &buffer)
    }

    /// Frames `entry` into the write buffer; returns the frame size.
    func append(entry: Entry) -> Int {
        RecordFrame.appendEntry(entry, to: &buffer)
    }

    /// Makes the file at least `end` bytes long with allocated space, a step at a time.
    private func allocate(through end: Int) throws {
        let step = preallocationStep
        guard step > 0, end > allocatedSize else { return }
        let target = (end + step - 1) / step * step
        let path = directory.file(info.name)
        switch try Posix.preallocate(fd, offset: allocatedSize, length: target - allocatedSize, path: path) {
        case .done: allocatedSize = target
        case .unsupported: preallocationStep = 0
        case .noSpace:
            // A whole step no longer fits: the bytes this write needs may, so a nearly full
            // disk is used to its end. When even they do not, the write could not land either.
            switch try Posix.preallocate(fd, offset: allocatedSize, length: end - allocatedSize, path: path) {
            case .done: allocatedSize = end
            case .unsupported: preallocationStep = 0
            case .noSpace: throw Posix.noSpace("posix_fallocate", path)
            }
        }
    }

    /// Hands the buffered frames to the OS.
    func flush() throws {
        guard !buffer.isEmpty else { return }
        if cutPending {
            try directory.dataSync(fd, name: info.name)
            cutPending = false
        }
        try allocate(through: writtenSize + buffer.count)
        try Posix.write(fd, buffer, at: writtenSize, path: directory.file(info.name))
        writtenSize += buffer.count
        allocatedSize = max(allocatedSize, writtenSize)
        // Keep an ordinary buffer's memory for the next burst, not a rare huge one's.
        buffer.removeAll(keepingCapacity: buffer.capacity <= 4 << 20)
        needsDataSync = true
    }

    /// Makes everything appended so far durable.
    func sync() throws {
        try flush()
        guard needsDataSync || cutPending else { return }
        try directory.dataSync(fd, name: info.name)
        needsDataSync = false
        cutPending = false
    }

    /// Drops every byte from `offset` on (the space allocated ahead too; it returns at the
    /// next flush).
    func cut(at offset: Int) throws {
        if offset >= writtenSize {
            buffer.removeLast(size - offset)
            return
        }
        buffer.removeAll(keepingCapacity: true)
        try Posix.truncate(fd, to: offset, path: directory.file(info.name))
        writtenSize = offset
        allocatedSize = offset
        cutPending = true
    }

    /// Gives back the space allocated past the records, once the segment takes no more
    /// appends. Not made durable: a zero-filled end left by a crash reads as unused space.
    func trimAllocation() throws {
        guard allocatedSize > writtenSize else { return }
        try Posix.truncate(fd, to: writtenSize, path: directory.file(info.name))
        allocatedSize = writtenSize
    }

    /// Bytes `range` of the segment, from the file and the write buffer as needed.
    func read(_ range: Range<Int>) throws -> [UInt8] {
        var bytes: [UInt8] = []
        if range.lowerBound < writtenSize {
            let end = min(range.upperBound, writtenSize)
            bytes = try Posix.read(fd, count: end - range.lowerBound, at: range.lowerBound,
                                   path: directory.file(info.name))
            guard bytes.count == end - range.lowerBound else {
                throw LogError.corrupt("\(info.name) ends before offset \(end)")
            }
        }
        if range.upperBound > writtenSize {
            let start = max(range.lowerBound, writtenSize) - writtenSize
            bytes.append(contentsOf: buffer[start..<(range.upperBound - writtenSize)])
        }
        return bytes
    }

    func close() { Posix.close(fd) }
}

/// Reads bytes of a segment that no longer takes appends; opened per read so a long log does
/// not hold one descriptor per segment.
func readClosedSegment(named name: String, range: Range<Int>, in directory: LogDirectory) throws -> [UInt8] {
    let path = directory.file(name)
    let fd = try Posix.open(path, flags: O_RDONLY)
    defer { Posix.close(fd) }
    let bytes = try Posix.read(fd, count: range.count, at: range.lowerBound, path: path)
    guard bytes.count == range.count else {
        throw LogError.corrupt("\(name) ends before offset \(range.upperBound)")
    }
    return bytes
}
