extension Range where Bound == Int {
    /// Piece `i` of this range cut into `n` consecutive pieces as even as possible: the first
    /// `count % n` pieces are one element longer. The one even split of the project — blocks over
    /// hosts (Star), chunks (rings), shards and ring groups (Ulysses, USP), layers over GPUs.
    public func evenPiece(_ i: Int, of n: Int) -> Range<Int> {
        precondition(n >= 1 && i >= 0 && i < n, "evenPiece: piece \(i) of \(n)")
        let base = count / n, extra = count % n
        let start = lowerBound + i * base + Swift.min(i, extra)
        return start..<(start + base + (i < extra ? 1 : 0))
    }
}
