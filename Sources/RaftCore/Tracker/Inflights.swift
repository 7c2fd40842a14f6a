/// The appends sent to one follower and not yet acknowledged, oldest first (etcd's
/// tracker.Inflights): a ring buffer of each append's last index and payload bytes, so an
/// acknowledgement frees from the front without shifting what is left.
///
/// The window is capped by count (`ClusterSettings.maxInflight`) and by payload bytes
/// (`maxInflightBytes`). The caps are read from the settings in force at each check, not kept
/// here, so a committed settings change applies to every follower at once; the buffer grows
/// to whatever count the caps let through.
struct Inflights {
    struct Flight: Equatable {
        /// The last index the append carried.
        var index: LogIndex
        /// Its entries' payload bytes.
        var bytes: UInt64
    }

    /// Capacity a power of two, so positions wrap with a mask.
    private var ring: [Flight] = []
    private var head = 0
    private(set) var count = 0
    /// Payload bytes of the appends in flight.
    private(set) var bytes: UInt64 = 0

    var isEmpty: Bool { count == 0 }

    /// Full at `maxCount` appends, or once `maxBytes` of payload is out. The byte cap is soft
    /// (as etcd's): an append goes whenever the window holds less than the cap, so one append
    /// larger than the cap still goes, alone.
    func isFull(maxCount: Int, maxBytes: UInt64) -> Bool {
        count >= maxCount || bytes >= maxBytes
    }

    /// Records an append whose last index is `index`; indexes must grow from one call to the next.
    mutating func add(index: LogIndex, bytes size: UInt64) {
        if count == ring.count { grow() }
        ring[(head + count) & (ring.count - 1)] = Flight(index: index, bytes: size)
        count += 1
        bytes += size
    }

    /// Frees every append whose last index is at or below `index` (they were acknowledged).
    mutating func free(through index: LogIndex) {
        let mask = ring.count - 1
        while count > 0 && ring[head].index <= index {
            bytes -= ring[head].bytes
            head = (head + 1) & mask
            count -= 1
        }
        if count == 0 { head = 0 }
    }

    /// Forgets every append (the follower's state changed: what is out no longer counts).
    mutating func reset() {
        head = 0
        count = 0
        bytes = 0
    }

    /// The appends in flight, oldest first (for tests and diagnostics).
    var flights: [Flight] {
        (0..<count).map { ring[(head + $0) & (ring.count - 1)] }
    }

    private mutating func grow() {
        let capacity = max(4, ring.count * 2)
        var bigger: [Flight] = []
        bigger.reserveCapacity(capacity)
        for i in 0..<count { bigger.append(ring[(head + i) & (ring.count - 1)]) }
        bigger.append(contentsOf: repeatElement(Flight(index: 0, bytes: 0), count: capacity - count))
        ring = bigger
        head = 0
    }
}
