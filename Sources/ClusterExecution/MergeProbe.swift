/// What the query host saw at one layer and head for the query's last token during a real run: the
/// partials it merged in phase 2 (each host's log-sum-exp and first output values) and the attention
/// output that continued the layer. `run --narrate` explains the merge with these numbers.
public struct MergeProbe: Sendable, Hashable {
    /// Where to look: a layer and a query head.
    public struct Point: Sendable, Hashable {
        public var layer: Int
        public var head: Int
        public init(layer: Int, head: Int) {
            self.layer = layer
            self.head = head
        }
    }

    /// One partial merged on the query host.
    public struct Part: Sendable, Hashable {
        /// The host it came from (a tree's inner host sends its subtree's merge).
        public var source: Int
        /// Natural log of its softmax denominator for this row and head.
        public var lse: Float
        /// The first values of its output for this head (already normalised by its own denominator).
        public var values: [Float]
    }

    public var point: Point
    /// The host that merged (the query host).
    public var host: Int
    /// The partials in merge order; empty when the host attended alone (global attention).
    public var parts: [Part]
    /// The first values of the attention output that continued the layer (merged, or the host's own).
    public var output: [Float]
    /// How many leading values `values` and `output` keep.
    public static let shownValues = 4
}
