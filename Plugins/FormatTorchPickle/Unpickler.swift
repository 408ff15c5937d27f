import OmniCore

/// A restricted unpickler (protocol 2 to 5) that understands exactly what a PyTorch state dict needs:
/// dicts, lists, tuples, numbers, strings, bools, None, `collections.OrderedDict`,
/// `torch._utils._rebuild_tensor_v2` / `_rebuild_parameter` and typed storages via `persistent_load`.
///
/// It never executes anything: `GLOBAL`/`STACK_GLOBAL` naming any other callable is an error that names
/// `module.name`, and opcodes that build arbitrary objects (`NEWOBJ`, `INST`, `OBJ`, `EXT*`) are refused.
struct Unpickler {
    /// Where errors point (`archive.pt`, member `archive/data.pkl`).
    let file: String
    let member: String
    private let bytes: UnsafeRawBufferPointer
    private var pos = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    /// Containers built so far.
    private(set) var arena = PickleArena()

    /// Prepares to read `bytes` (the pickle stream of `member` in `file`).
    init(bytes: UnsafeRawBufferPointer, file: String, member: String) {
        self.bytes = bytes
        self.file = file
        self.member = member
    }

    private func fail(_ reason: String) -> OmniError {
        .weightFile(file: file, tensor: nil, reason: "\(member): \(reason)")
    }

    /// Runs the pickle to its STOP and returns the top value.
    mutating func load() throws -> PickleValue {
        while true {
            let at = pos
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()                                  // PROTO
            case 0x95: _ = try take(8)                                 // FRAME
            case 0x2E:                                                 // STOP
                guard stack.count == 1, marks.isEmpty else { throw fail("STOP with \(stack.count) values on the stack") }
                return stack[0]
            case 0x28: marks.append(stack.count)                       // MARK
            case 0x7D: arena.dicts.append(PickleDict()); stack.append(.dict(arena.dicts.count - 1))
            case 0x5D: arena.lists.append([]); stack.append(.list(arena.lists.count - 1))
            case 0x29: stack.append(tuple([]))                         // EMPTY_TUPLE
            case 0x74: stack.append(tuple(try popMark()))              // TUPLE
            case 0x85, 0x86, 0x87:                                     // TUPLE1..3
                let n = Int(op - 0x84)
                guard stack.count - (marks.last ?? 0) >= n else { throw fail("stack underflow at byte \(at)") }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                stack.append(tuple(items))
            case 0x71: memo[Int(try byte())] = try top()               // BINPUT
            case 0x72: memo[Int(try uint(4))] = try top()              // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()                    // MEMOIZE
            case 0x68, 0x6A:                                           // BINGET, LONG_BINGET
                let i = op == 0x68 ? Int(try byte()) : Int(try uint(4))
                guard let v = memo[i] else { throw fail("memo \(i) read before it was written (byte \(at))") }
                stack.append(v)
            case 0x4A: stack.append(.int(Int(Int32(bitPattern: UInt32(try uint(4))))))   // BININT
            case 0x4B: stack.append(.int(Int(try byte())))             // BININT1
            case 0x4D: stack.append(.int(Int(try uint(2))))            // BININT2
            case 0x8A: stack.append(.int(try long1()))                 // LONG1
            case 0x47: stack.append(.float(Double(bitPattern: try bigEndian8())))   // BINFLOAT
            case 0x58: stack.append(.string(try string(Int(try uint(4)))))          // BINUNICODE
            case 0x8C: stack.append(.string(try string(Int(try byte()))))           // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try string(try length8())))             // BINUNICODE8
            case 0x42: let n = Int(try uint(4)); _ = try take(n); stack.append(.bytes(n))   // BINBYTES
            case 0x43: let n = Int(try byte()); _ = try take(n); stack.append(.bytes(n))    // SHORT_BINBYTES
            case 0x8E: let n = try length8(); _ = try take(n); stack.append(.bytes(n))      // BINBYTES8
            case 0x88: stack.append(.bool(true))
            case 0x89: stack.append(.bool(false))
            case 0x4E: stack.append(.none)
            case 0x30: _ = try pop()                                   // POP
            case 0x31: _ = try popMark()                               // POP_MARK
            case 0x32: stack.append(try top())                         // DUP
            case 0x61: let v = try pop(); try append([v])              // APPEND
            case 0x65: try append(try popMark())                       // APPENDS
            case 0x73: let v = try pop(), k = try pop(); try setItems([k, v])       // SETITEM
            case 0x75: try setItems(try popMark())                     // SETITEMS
            case 0x63:                                                 // GLOBAL
                let module = try line(), name = try line()
                stack.append(try global(module, name))
            case 0x93:                                                 // STACK_GLOBAL
                guard case .string(let name) = try pop(), case .string(let module) = try pop() else {
                    throw fail("STACK_GLOBAL needs two strings (byte \(at))")
                }
                stack.append(try global(module, name))
            case 0x52:                                                 // REDUCE
                let args = try pop(), callable = try pop()
                stack.append(try reduce(callable, args))
            case 0x51: stack.append(try persistentLoad(try pop()))     // BINPERSID
            case 0x62:                                                 // BUILD: state on a dict is ignored
                _ = try pop()
                guard case .dict = try top() else { throw fail("BUILD on something other than a dict (byte \(at))") }
            case 0x81, 0x92, 0x69, 0x6F, 0x82, 0x83, 0x84, 0x50:
                throw fail("opcode 0x\(String(op, radix: 16)) (object construction) is not allowed (byte \(at))")
            default:
                throw fail("unsupported pickle opcode 0x\(String(op, radix: 16)) at byte \(at)")
            }
        }
    }

    // MARK: - Interpreting the allowed globals

    private func global(_ module: String, _ name: String) throws -> PickleValue {
        guard let g = TorchGlobal.allowed(module: module, name: name) else {
            throw fail("pickle refers to global '\(module).\(name)', which is not allowed "
                       + "(allowed: \(TorchGlobal.allowedList)); nothing was executed")
        }
        return .global(g)
    }

    private mutating func reduce(_ callable: PickleValue, _ args: PickleValue) throws -> PickleValue {
        guard case .global(let g) = callable, case .tuple(let ti) = args else {
            throw fail("REDUCE of something other than an allowed global with a tuple of arguments")
        }
        let a = arena.tuples[ti]
        switch g {
        case .orderedDict:
            guard a.isEmpty else { throw fail("OrderedDict called with arguments") }
            arena.dicts.append(PickleDict())
            return .dict(arena.dicts.count - 1)
        case .rebuildParameter:
            guard let first = a.first, case .tensor = first else { throw fail("_rebuild_parameter without a tensor") }
            return first
        case .rebuildTensorV2:
            guard a.count >= 4, case .storage(let s) = a[0], case .int(let offset) = a[1],
                  let size = intTuple(a[2]), let stride = intTuple(a[3]) else {
                throw fail("_rebuild_tensor_v2 expects (storage, offset, size, stride, ...)")
            }
            return .tensor(TorchTensorRef(storage: s, offset: offset, size: size, stride: stride))
        case .storageType(let name, _):
            throw fail("storage type torch.\(name) called directly")
        }
    }

    private func persistentLoad(_ pid: PickleValue) throws -> PickleValue {
        guard case .tuple(let ti) = pid, arena.tuples[ti].count == 5, case .string("storage") = arena.tuples[ti][0],
              case .global(.storageType(let typeName, let dtype)) = arena.tuples[ti][1],
              case .string(let key) = arena.tuples[ti][2], case .int(let numel) = arena.tuples[ti][4], numel >= 0 else {
            throw fail("persistent id is not ('storage', torch.*Storage, key, location, numel)")
        }
        return .storage(TorchStorageRef(typeName: typeName, dtype: dtype, key: key, numel: numel))
    }

    private func intTuple(_ v: PickleValue) -> [Int]? {
        guard case .tuple(let i) = v else { return nil }
        var out: [Int] = []
        for e in arena.tuples[i] {
            guard case .int(let n) = e else { return nil }
            out.append(n)
        }
        return out
    }

    // MARK: - Stack and containers

    private mutating func tuple(_ items: [PickleValue]) -> PickleValue {
        arena.tuples.append(items)
        return .tuple(arena.tuples.count - 1)
    }

    private func top() throws -> PickleValue {
        guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw fail("stack underflow at byte \(pos)") }
        return v
    }

    private mutating func pop() throws -> PickleValue {
        let v = try top()
        stack.removeLast()
        return v
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw fail("no MARK on the stack at byte \(pos)") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private mutating func append(_ items: [PickleValue]) throws {
        guard case .list(let i) = try top() else { throw fail("APPEND to something other than a list") }
        arena.lists[i] += items
    }

    private mutating func setItems(_ kv: [PickleValue]) throws {
        guard kv.count % 2 == 0 else { throw fail("SETITEMS with an odd number of values") }
        guard case .dict(let d) = try top() else { throw fail("SETITEM on something other than a dict") }
        for j in stride(from: 0, to: kv.count, by: 2) { arena.dicts[d].set(kv[j], kv[j + 1]) }
    }

    // MARK: - Reading bytes

    private mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - pos else { throw fail("truncated pickle: need \(n) bytes at byte \(pos)") }
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + n)])
    }

    private mutating func byte() throws -> UInt8 { try take(1)[0] }

    private mutating func uint(_ n: Int) throws -> UInt64 {
        let b = try take(n)
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(b[i]) << (8 * UInt64(i)) }
        return v
    }

    private mutating func length8() throws -> Int {
        let v = try uint(8)
        guard v <= UInt64(bytes.count) else { throw fail("length \(v) exceeds the pickle") }
        return Int(v)
    }

    private mutating func bigEndian8() throws -> UInt64 {
        let b = try take(8)
        return b.reduce(0) { $0 << 8 | UInt64($1) }
    }

    private mutating func long1() throws -> Int {
        let n = Int(try byte())
        guard n <= 8 else { throw fail("integer of \(n) bytes is too large") }
        let b = try take(n)
        guard n > 0 else { return 0 }
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(b[i]) << (8 * UInt64(i)) }
        if n < 8, b[n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) }   // sign-extend
        return Int(Int64(bitPattern: v))
    }

    private mutating func string(_ n: Int) throws -> String {
        let b = try take(n)
        guard let s = String(validating: b, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
        return s
    }

    private mutating func line() throws -> String {
        guard let nl = bytes[pos...].firstIndex(of: 0x0A), nl - pos <= 256 else {
            throw fail("GLOBAL name not terminated at byte \(pos)")
        }
        let s = String(decoding: try take(nl - pos), as: UTF8.self)
        pos += 1
        return s
    }
}
