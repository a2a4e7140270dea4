// The tests' seeded generator is the library's own `SplitMix64` (module `SeededRandom`, one
// implementation): re-exported so that `import TestSupport` gives it to every test target.
@_exported import SeededRandom
