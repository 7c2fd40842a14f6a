import RaftCore

/// What the library keeps about a host log's retained entries so that the core's queries never
/// reach the host: each entry's term, stored as runs (terms change rarely, so a long log costs
/// a few records), and the indexes of configuration entries. Kept in step with every append,
/// truncate and compaction of the host's log.
struct RetainedEntries {
    /// The retained entries are firstIndex...lastIndex (none when lastIndex < firstIndex).
    private(set) var firstIndex: LogIndex
    private(set) var lastIndex: LogIndex
    /// Runs of one term: entries from runStarts[i] up to the next run's start (or lastIndex)
    /// have term runTerms[i].
    private var runStarts: [LogIndex] = []
    private var runTerms: [Term] = []
    /// Indexes of `.config` entries, ascending.
    private var configIndexes: [LogIndex] = []

    /// No entries, the last compacted one at `prefix`.
    init(after prefix: LogIndex) {
        firstIndex = prefix + 1
        lastIndex = prefix
    }

    var lastTerm: Term? { runTerms.last }

    func term(at index: LogIndex) -> Term? {
        guard index >= firstIndex, index <= lastIndex else { return nil }
        return runTerms[lastPosition(of: runStarts, atOrBefore: index)!]
    }

    mutating func append(index: LogIndex, term: Term, kind: EntryKind) {
        precondition(index == lastIndex + 1, "retained entries must run on")
        if runTerms.last != term {
            runStarts.append(index)
            runTerms.append(term)
        }
        if kind == .config { configIndexes.append(index) }
        lastIndex = index
    }

    /// Forgets the entries at and after `index`.
    mutating func removeFrom(_ index: LogIndex) {
        guard index <= lastIndex else { return }
        let cut = max(index, firstIndex)
        let keep = lastPosition(of: runStarts, atOrBefore: cut - 1).map { $0 + 1 } ?? 0
        runStarts.removeSubrange(keep...)
        runTerms.removeSubrange(keep...)
        configIndexes.removeAll { $0 >= cut }
        lastIndex = cut - 1
    }

    /// Forgets the entries at and before `index`, which becomes the prefix; past the last entry,
    /// none remain and the log goes on after `index`.
    mutating func removeThrough(_ index: LogIndex) {
        guard index >= firstIndex else { return }
        guard index < lastIndex else {
            self = RetainedEntries(after: index)
            return
        }
        let first = index + 1
        // The run holding `first` now starts there; the runs before it go.
        let holding = lastPosition(of: runStarts, atOrBefore: first)!
        runStarts.removeFirst(holding)
        runTerms.removeFirst(holding)
        runStarts[0] = first
        configIndexes.removeAll { $0 <= index }
        firstIndex = first
    }

    func lastConfigIndex(atOrBefore index: LogIndex) -> LogIndex? {
        lastPosition(of: configIndexes, atOrBefore: min(index, lastIndex)).map { configIndexes[$0] }
    }

    /// Position of the last element <= `value` in an ascending array, if any.
    private func lastPosition(of sorted: [LogIndex], atOrBefore value: LogIndex) -> Int? {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] <= value { low = mid + 1 } else { high = mid }
        }
        return low > 0 ? low - 1 : nil
    }
}
