// The engine's vocabulary of virtual time and hardware profiles lives in the leaf module
// `ClusterSpec` (shared with `Projection`, which does not depend on this engine). Re-exported so
// that `import Cluster` keeps giving `SimDuration`, `DeviceProfile`, … (as swift-nio's `NIO`
// re-exports `NIOCore`).
@_exported import ClusterSpec
