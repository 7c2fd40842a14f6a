import RaftCore

/// The most recently appended entries, so a leader sending what it just appended reads memory,
/// not the disk. Holds a contiguous run ending at the log's last index, at most `capacity`
/// entries once trimmed (trimming waits until twice that, so it costs O(1) per append).
struct RecentEntries {
    let capacity: Int
    private var entries: [Entry] = []

    init(capacity: Int) { self.capacity = max(0, capacity) }

    func entry(at index: LogIndex) -> Entry? {
        guard let first = entries.first?.index, index >= first, index < first + LogIndex(entries.count) else {
            return nil
        }
        return entries[Int(index - first)]
    }

    mutating func append(_ entry: Entry) {
        guard capacity > 0 else { return }
        if let last = entries.last, last.index + 1 != entry.index { entries.removeAll() }
        entries.append(entry)
        if entries.count >= 2 * capacity { entries.removeFirst(entries.count - capacity) }
    }

    mutating func removeFrom(_ index: LogIndex) {
        guard let first = entries.first?.index else { return }
        entries.removeLast(max(0, entries.count - Int(index.saturatingSubtract(first))))
    }

    mutating func removeThrough(_ index: LogIndex) {
        guard let first = entries.first?.index, index >= first else { return }
        entries.removeFirst(min(entries.count, Int(index - first + 1)))
    }

    mutating func removeAll() { entries.removeAll() }
}

private extension LogIndex {
    func saturatingSubtract(_ other: LogIndex) -> LogIndex { self > other ? self - other : 0 }
}
