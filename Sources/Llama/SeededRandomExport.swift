// `SplitMix64` lives in the leaf module `SeededRandom`, shared with the test support; re-exported so
// that `import Llama` (test models, benchmark inputs) keeps it.
@_exported import SeededRandom
