import RaftCore
import RaftSim

extension SimDisk {
    /// A disk for one seed's power-loss workload, `directory` already durable on it; the seed's
    /// next number picks the sync semantics (strict POSIX or ext4).
    static func seeded(_ rng: inout SplitMix64, directory: String) -> SimDisk {
        let disk = SimDisk(semantics: rng.next() % 2 == 0 ? .strict : .ext4)
        disk.makeDurableDirectory(directory)
        return disk
    }
}
