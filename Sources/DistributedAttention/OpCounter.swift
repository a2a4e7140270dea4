/// Issues op ids for one host, in order.
struct OpCounter: Sendable {
    private var next = 0
    mutating func make() -> OpID {
        defer { next += 1 }
        return OpID(next)
    }
}
