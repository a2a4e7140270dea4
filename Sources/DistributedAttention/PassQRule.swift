/// Meta's rule for choosing between pass-KV and pass-Q (Yang et al., arXiv 2411.01783, §3.4, as we
/// restate it; `Docs/PassQRing.md`). A prefill encodes `T` new tokens over `P` cached ones on `N`
/// ranks of peak `C` FLOP/s joined by links of `BW` bytes/s; `e` = bytes per element.
///
/// - Pass-KV's transfer hides under its attention when the ring step's attention
///   (`4·(T/N)·((T+P)/N)·heads·headDim` FLOPs) lasts at least as long as one K,V block's transfer
///   (`((T+P)/N)·2·kvHeads·headDim·e` bytes): `T ≥ N·C·kvHeads·e / (2·heads·BW)`.
/// - Otherwise the smaller message wins: pass-KV sends `(T+P)·2·kvHeads` per ring step where pass-Q
///   sends `T·heads` (per `headDim·e/N`), so pass-KV when the miss rate `T/(T+P) ≥ 2·kvHeads/heads`.
/// - Else pass-Q.
public struct PassQRule: Sendable, Hashable {
    public let newTokens: Int
    public let cachedTokens: Int
    /// `N·C·kvHeads·e / (2·heads·BW)`: new tokens from which pass-KV's transfer hides under compute.
    public let hidingThreshold: Double
    /// `2·kvHeads/heads`: the miss rate from which pass-KV's messages are the smaller.
    public let missRateThreshold: Double

    public init(newTokens: Int, cachedTokens: Int, hosts: Int, shape: ModelShape, flopsPerSecond: Double,
                linkBytesPerSecond: Double) {
        self.newTokens = newTokens
        self.cachedTokens = cachedTokens
        hidingThreshold = Double(hosts) * flopsPerSecond * Double(shape.kvHeads * shape.bytesPerElement)
            / (2 * Double(shape.heads) * linkBytesPerSecond)
        missRateThreshold = 2 * Double(shape.kvHeads) / Double(shape.heads)
    }

    /// `T / (T + P)`.
    public var missRate: Double { Double(newTokens) / Double(max(newTokens + cachedTokens, 1)) }

    /// The exchange the rule picks.
    public var choice: RingPlan.Exchange {
        Double(newTokens) >= hidingThreshold || missRate >= missRateThreshold ? .ring : .passQ
    }

    /// Why, in one clause with the numbers.
    public var reason: String {
        func percent(_ x: Double) -> String { "\((x * 1000).rounded() / 10)%" }
        let miss = percent(missRate), bound = percent(missRateThreshold)
        let hide = Int(hidingThreshold.rounded(.up))
        if Double(newTokens) >= hidingThreshold {
            return "pass-KV: its K,V transfer hides under attention (T = \(newTokens) ≥ N·C·kvHeads·e/(2·heads·BW) = \(hide))"
        }
        if missRate >= missRateThreshold {
            return "pass-KV: its messages are the smaller (miss rate T/(T+P) = \(miss) ≥ 2·kvHeads/heads = \(bound))"
        }
        return "pass-Q: T = \(newTokens) new tokens are too few to hide pass-KV's transfer (< \(hide)) and the miss rate T/(T+P) = \(miss) < 2·kvHeads/heads = \(bound)"
    }
}
