import ArgumentParser
import StarSim

/// The cluster hardware options `project` and `plan` share: device, links, how a host's GPUs
/// combine, and a directory of user profiles (`starsim profiles` lists the names).
struct HardwareOptions: ParsableArguments {
    @Option(help: "Device profile (`starsim profiles` lists them) or a .yaml path.")
    var device: String = "a100-80gb"
    @Option(name: .customLong("intra-link"), help: "Link between the GPUs of a host.")
    var intraLink: String = "nvlink-a100"
    @Option(name: .customLong("inter-link"), help: "Link between hosts.")
    var interLink: String = "ib-hdr"
    @Option(help: "How a host's GPUs combine: pipeline | tensor-parallel.")
    var combine: String = "pipeline"
    @Option(help: "Directory of user device/link profiles.")
    var profiles: String?

    /// Sets the sweep's device, links, GPU combination and profile directory from these options
    /// (`project` and `compare` build their sweeps this way).
    func apply(to sweep: inout ProjectionSweep) throws(StarSimError) {
        sweep.device = device
        sweep.intraHostLink = intraLink
        sweep.interHostLink = interLink
        sweep.combine = try parallelCombine()
        sweep.profileDirectory = profiles
    }

    /// `--combine`, parsed.
    func parallelCombine() throws(StarSimError) -> ParallelCombine {
        guard let c = ParallelCombine(rawValue: combine) else {
            throw .invalidValue("--combine", combine, "pipeline or tensor-parallel")
        }
        return c
    }
}
