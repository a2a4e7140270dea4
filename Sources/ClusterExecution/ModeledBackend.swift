import DistributedAttention

/// The backend of a projection: ops have no math and messages no data; only their modeled time
/// (charged by the shell) and their byte sizes matter.
final class ModeledBackend: OpBackend {
    typealias Data = Void
    func work(for op: Op) -> (() -> Void)? { nil }
    /// Projections never stop early: generation runs to the requested token count.
    var sampledToken: Int32 { -1 }
    func data(for message: Message) {}
    func receive(_ message: Message, from: Int, data: Void) {}
    func dropKV(layer: Int, _ ref: KVRef) {}
    func dropHidden(_ segment: Segment) {}
    func dropQueries(layer: Int, _ segment: Segment) {}
}
