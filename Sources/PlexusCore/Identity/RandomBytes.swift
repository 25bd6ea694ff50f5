import Crypto
import Synchronization

/// Random bytes for ids and nonces, drawn 4 KiB at a time from swift-crypto's CSPRNG:
/// they are drawn on every task and message, and one `getrandom` system call per byte
/// (what `UInt8.random` does with the system generator) was the largest single cost of
/// sending a task. Each byte is handed out once.
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

    /// Two random 64-bit words (a 16-byte id).
    public static func words() -> (UInt64, UInt64) {
        let bytes = take(16)
        return (UInt64(bigEndian: bytes, at: 0), UInt64(bigEndian: bytes, at: 8))
    }

    /// One read of `count` bytes (swift-crypto's generator, seeded from the kernel).
    private static func fill(_ count: Int) -> [UInt8] {
        SymmetricKey(size: SymmetricKeySize(bitCount: count * 8)).withUnsafeBytes { Array($0) }
    }
}

extension UInt64 {
    /// The big-endian word at `offset` of `bytes` (which holds at least `offset + 8`).
    init(bigEndian bytes: some Collection<UInt8>, at offset: Int) {
        var value: UInt64 = 0
        for byte in bytes.dropFirst(offset).prefix(8) { value = value << 8 | UInt64(byte) }
        self = value
    }
}
