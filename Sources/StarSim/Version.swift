/// StarSim's version: what `starsim --version` prints and what sweep shard manifests record.
public enum StarSimVersion {
    public static let current = "0.1.0"
}
