/// Zeroing the active segment's space ahead of its records on another thread (ZeroFill), for a
/// runtime that has one (RaftUV starts a job at the end of a pump when one is wanted). A log
/// whose driver never asks writes into preallocated space as before.
extension FileLog {
    /// Owner thread: the next stretch of space to zero, to `run` on another thread and then
    /// hand to `finishZeroFill`; nil when none is wanted now (see `ActiveSegment.beginZeroFill`)
    /// or the log is closed or failed.
    public func beginZeroFill() -> ZeroFill? {
        guard !isClosed, failure == nil, let active else { return nil }
        return active.beginZeroFill(limit: options.segmentSize)
    }

    /// Owner thread: the job has run. A failed one leaves the log refusing every later write,
    /// as a failed fdatasync does, and throws. A job the log already took back (its segment
    /// needed the space, was cut, finished or closed) is ignored.
    public func finishZeroFill(_ job: ZeroFill) throws {
        guard !isClosed, let active else { return }
        try performingIO { try active.finishZeroFill(job) }
    }
}
