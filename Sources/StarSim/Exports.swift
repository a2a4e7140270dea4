// `import StarSim` is the whole public API: the layers a user of the library (and the `starsim`
// command) needs are re-exported here, as swift-nio's `NIO` re-exports `NIOCore`.
@_exported import Cluster
@_exported import ClusterExecution
@_exported import ConfigFiles
@_exported import DistributedAttention
@_exported import GGUF
@_exported import Kernels
@_exported import Llama
@_exported import Projection
