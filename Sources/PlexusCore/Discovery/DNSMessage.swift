import Foundation

/// The parts of DNS messages (RFC 1035) that multicast DNS service discovery uses (RFC 6762,
/// RFC 6763): questions and PTR, SRV, TXT and A records. Decoding is bounded: names are at
/// most 255 bytes and follow at most 32 compression pointers, counts at most 64 per
/// section, so a hostile datagram costs little.
public struct DNSMessage: Equatable, Sendable {
    public struct Question: Equatable, Sendable {
        public var name: String
        public var type: UInt16
        public init(name: String, type: UInt16) {
            self.name = name
            self.type = type
        }
    }

    public enum RecordData: Equatable, Sendable {
        case ptr(String)
        case srv(priority: UInt16, weight: UInt16, port: UInt16, target: String)
        case txt([String])
        case a([UInt8])
        case other(type: UInt16, bytes: Data)

        var type: UInt16 {
            switch self {
            case .ptr: DNSMessage.ptr
            case .srv: DNSMessage.srv
            case .txt: DNSMessage.txt
            case .a: DNSMessage.a
            case .other(let type, _): type
            }
        }
    }

    public struct Record: Equatable, Sendable {
        public var name: String
        public var ttl: UInt32
        public var data: RecordData
        /// mDNS's cache-flush bit: this record replaces what a cache holds for its name.
        public var unique: Bool
        public init(name: String, ttl: UInt32, data: RecordData, unique: Bool) {
            self.name = name
            self.ttl = ttl
            self.data = data
            self.unique = unique
        }
    }

    public static let a: UInt16 = 1
    public static let ptr: UInt16 = 12
    public static let txt: UInt16 = 16
    public static let srv: UInt16 = 33
    public static let any: UInt16 = 255

    public var id: UInt16 = 0
    public var isResponse: Bool
    public var questions: [Question] = []
    public var answers: [Record] = []
    public var additionals: [Record] = []

    public init(isResponse: Bool, questions: [Question] = [], answers: [Record] = [], additionals: [Record] = []) {
        self.isResponse = isResponse
        self.questions = questions
        self.answers = answers
        self.additionals = additionals
    }

    // MARK: - Encoding

    public func encoded() -> Data {
        var out = Data()
        func u16(_ value: UInt16) { out.append(UInt8(value >> 8)); out.append(UInt8(value & 0xff)) }
        func u32(_ value: UInt32) { u16(UInt16(value >> 16)); u16(UInt16(value & 0xffff)) }
        func name(_ text: String) { out.append(Self.encodeName(text)) }
        u16(id)
        u16(isResponse ? 0x8400 : 0)  // response, authoritative
        u16(UInt16(questions.count))
        u16(UInt16(answers.count))
        u16(0)
        u16(UInt16(additionals.count))
        for question in questions {
            name(question.name)
            u16(question.type)
            u16(1)
        }
        for record in answers + additionals {
            name(record.name)
            u16(record.data.type)
            u16(record.unique ? 0x8001 : 1)
            u32(record.ttl)
            var rdata = Data()
            switch record.data {
            case .ptr(let target): rdata = Self.encodeName(target)
            case .srv(let priority, let weight, let port, let target):
                for value in [priority, weight, port] { rdata.append(UInt8(value >> 8)); rdata.append(UInt8(value & 0xff)) }
                rdata.append(Self.encodeName(target))
            case .txt(let strings):
                for string in strings {
                    let bytes = Array(string.utf8.prefix(255))
                    rdata.append(UInt8(bytes.count))
                    rdata.append(contentsOf: bytes)
                }
                if strings.isEmpty { rdata.append(0) }
            case .a(let address): rdata = Data(address)
            case .other(_, let bytes): rdata = bytes
            }
            u16(UInt16(rdata.count))
            out.append(rdata)
        }
        return out
    }

    static func encodeName(_ name: String) -> Data {
        var out = Data()
        for label in name.split(separator: ".") {
            let bytes = Array(label.utf8.prefix(63))
            out.append(UInt8(bytes.count))
            out.append(contentsOf: bytes)
        }
        out.append(0)
        return out
    }

    // MARK: - Decoding

    /// The message in `bytes`, or nil when it is not a well-formed DNS message.
    public static func decode(_ bytes: Data) -> DNSMessage? {
        var reader = Reader(bytes: [UInt8](bytes))
        guard let id = reader.u16(), let flags = reader.u16(), let qd = reader.u16(), let an = reader.u16(), let ns = reader.u16(),
              let ar = reader.u16(), qd <= 64, an <= 64, ns <= 64, ar <= 64
        else { return nil }
        var message = DNSMessage(isResponse: flags & 0x8000 != 0)
        message.id = id
        for _ in 0..<qd {
            guard let name = reader.name(), let type = reader.u16(), reader.u16() != nil else { return nil }
            message.questions.append(Question(name: name, type: type))
        }
        for section in 0..<3 {
            let count = [an, ns, ar][section]
            for _ in 0..<count {
                guard let record = reader.record() else { return nil }
                if section == 0 { message.answers.append(record) } else if section == 2 { message.additionals.append(record) }
            }
        }
        return message
    }

    private struct Reader {
        let bytes: [UInt8]
        var position = 0

        mutating func u8() -> UInt8? {
            guard position < bytes.count else { return nil }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func u16() -> UInt16? {
            guard let high = u8(), let low = u8() else { return nil }
            return UInt16(high) << 8 | UInt16(low)
        }

        mutating func u32() -> UInt32? {
            guard let high = u16(), let low = u16() else { return nil }
            return UInt32(high) << 16 | UInt32(low)
        }

        /// A name at the current position, following compression pointers.
        mutating func name() -> String? {
            var labels: [String] = []
            var cursor = position
            var jumped = false
            var jumps = 0
            var length = 0
            while true {
                guard cursor < bytes.count else { return nil }
                let byte = bytes[cursor]
                if byte == 0 {
                    cursor += 1
                    break
                }
                if byte & 0xc0 == 0xc0 {
                    guard cursor + 1 < bytes.count, jumps < 32 else { return nil }
                    let target = Int(byte & 0x3f) << 8 | Int(bytes[cursor + 1])
                    if !jumped { position = cursor + 2 }
                    jumped = true
                    jumps += 1
                    cursor = target
                    continue
                }
                guard byte & 0xc0 == 0 else { return nil }
                let end = cursor + 1 + Int(byte)
                guard end <= bytes.count else { return nil }
                length += Int(byte) + 1
                guard length <= 255 else { return nil }
                labels.append(String(decoding: bytes[(cursor + 1)..<end], as: UTF8.self))
                cursor = end
            }
            if !jumped { position = cursor }
            return labels.joined(separator: ".") + "."
        }

        mutating func record() -> Record? {
            guard let name = name(), let type = u16(), let klass = u16(), let ttl = u32(), let length = u16() else { return nil }
            let end = position + Int(length)
            guard end <= bytes.count else { return nil }
            let data: RecordData
            switch type {
            case DNSMessage.ptr:
                guard let target = self.name() else { return nil }
                data = .ptr(target)
            case DNSMessage.srv:
                guard let priority = u16(), let weight = u16(), let port = u16(), let target = self.name() else { return nil }
                data = .srv(priority: priority, weight: weight, port: port, target: target)
            case DNSMessage.txt:
                var strings: [String] = []
                while position < end {
                    guard let count = u8(), position + Int(count) <= end else { return nil }
                    strings.append(String(decoding: bytes[position..<(position + Int(count))], as: UTF8.self))
                    position += Int(count)
                }
                data = .txt(strings)
            case DNSMessage.a where length == 4:
                data = .a(Array(bytes[position..<end]))
            default:
                data = .other(type: type, bytes: Data(bytes[position..<end]))
            }
            position = end
            return Record(name: name, ttl: ttl, data: data, unique: klass & 0x8000 != 0)
        }
    }
}
