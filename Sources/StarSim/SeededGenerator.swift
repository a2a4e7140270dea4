import Llama

/// The seedable generator behind every synthetic prompt, task and test input: SplitMix64, so the
/// same seed gives the same prompt on every platform (one implementation, in `Llama`).
public typealias SeededGenerator = SplitMix64
