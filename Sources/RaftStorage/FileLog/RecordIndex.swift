import RaftCore

/// Where one entry lives and what a read needs to know without touching the disk.
struct RecordLocation {
    var term: Term
    var segmentID: UInt64
    var offset: UInt32
    var frameSize: UInt32
    /// Size of the entry's data, for `maxBytes` limits.
    var dataSize: UInt32
    var kind: EntryKind
}

/// The in-memory index of the retained entries firstIndex...lastIndex, so term lookups and
/// range reads never scan the segments. Also keeps the indexes of config entries in order,
/// so `lastConfigIndex` is a binary search.
struct RecordIndex {
    private(set) var firstIndex: LogIndex
    private var locations: [RecordLocation] = []
    private var configIndexes: [LogIndex] = []

    init(firstIndex: LogIndex) { self.firstIndex = firstIndex }

    var lastIndex: LogIndex { firstIndex + LogIndex(locations.count) - 1 }

    subscript(index: LogIndex) -> RecordLocation? {
        guard index >= firstIndex, index <= lastIndex else { return nil }
        return locations[Int(index - firstIndex)]
    }

    mutating func append(_ location: RecordLocation, at index: LogIndex) {
        precondition(index == lastIndex + 1, "record index must follow the last one")
        locations.append(location)
        if location.kind == .config { configIndexes.append(index) }
    }

    /// Forgets the entries at and after `index`.
    mutating func removeFrom(_ index: LogIndex) {
        guard index <= lastIndex else { return }
        locations.removeLast(Int(lastIndex - max(index, firstIndex) + 1))
        configIndexes.removeSubrange(firstConfigPosition(atOrAfter: index)...)
    }

    /// Forgets the entries at and before `index`; the index then starts at `index + 1`.
    mutating func removeThrough(_ index: LogIndex) {
        guard index >= firstIndex else { return }
        locations.removeFirst(Int(min(index, lastIndex) - firstIndex + 1))
        configIndexes.removeFirst(firstConfigPosition(atOrAfter: index + 1))
        firstIndex = index + 1
    }

    /// Index of the last config entry at or before `index`.
    func lastConfigIndex(atOrBefore index: LogIndex) -> LogIndex? {
        let position = firstConfigPosition(atOrAfter: index + 1)
        return position > 0 ? configIndexes[position - 1] : nil
    }

    /// Position in configIndexes of the first config index >= `index`.
    private func firstConfigPosition(atOrAfter index: LogIndex) -> Int {
        var low = 0, high = configIndexes.count
        while low < high {
            let mid = (low + high) / 2
            if configIndexes[mid] < index { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
