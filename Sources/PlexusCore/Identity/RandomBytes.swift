#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Random bytes for ids and nonces, read from the kernel's CSPRNG 4 KiB at a time: they
/// are drawn on every task and message, and one `getrandom` system call per byte (what
/// `UInt8.random` does with the system generator) was the largest single cost of sending
/// a task. Each byte is handed out once.
public enum RandomBytes {
    private static let poolSize = 4096
    private static let pool = Mutex<(bytes: [UInt8], next: Int)>(([], 0))

    /// `count` fresh random bytes.
    public static func take(_ count: Int) -> [UInt8] {
        precondition(count >= 0 && count <= poolSize, "at most \(poolSize) random bytes at a time")
        return pool.withLock { pool in
            if pool.bytes.count - pool.next < count {
                pool.bytes = fill(poolSize)
                pool.next = 0
            }
            defer { pool.next += count }
            return Array(pool.bytes[pool.next..<pool.next + count])
        }
    }

    /// One read of `count` bytes from the kernel (`/dev/urandom`, never blocking once the
    /// pool is seeded); the system generator, 8 bytes per call, where it cannot be opened.
    private static func fill(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let descriptor = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        var filled = 0
        if descriptor >= 0 {
            defer { close(descriptor) }
            while filled < count {
                let got = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, count - filled) }
                if got > 0 { filled += got } else if got == 0 || errno != EINTR { break }
            }
        }
        if filled < count {
            var generator = SystemRandomNumberGenerator()
            for index in filled..<count { bytes[index] = generator.next() }
        }
        return bytes
    }
}
