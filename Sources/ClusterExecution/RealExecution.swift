import Cluster
import DistributedAttention
import Llama
import Projection

extension ModelSession {
    /// The model's shape as the algorithms and the cost model see it (f32 tensors when executing).
    public var shape: ModelShape {
        let c = model.config
        return ModelShape(
            layers: c.layerCount, hidden: c.hiddenSize, heads: c.headCount, kvHeads: c.kvHeadCount,
            headDim: c.headDim, ffn: c.intermediateSize, vocab: c.vocabularySize, bytesPerElement: 4)
    }

    /// Executes `method` for real on a simulated cluster: every host holds its own tensors and does
    /// its own math (SmolLM2 layers on OpenBLAS); messages carry real K/V blocks and partials.
    ///
    /// - Parameters:
    ///   - prompt: context and query tokens (the method's plan must have been built for their lengths).
    ///   - maxNewTokens: generation stops there or at end of turn.
    ///   - probe: a layer and head at which the query host records the query's phase-2 merge
    ///     (``MethodOutcome/mergeProbe``).
    ///   - progress: called after every compute step of every host (per layer, block, ring step,
    ///     token) with the run's finished share; feed it to `ProgressLines` for a terminal. When set,
    ///     the same programs are first run on modeled hosts (milliseconds) to learn the total work.
    public func execute(_ method: AttentionMethod, name: String, prompt: SplitPrompt, setup: ClusterSetup,
                        maxNewTokens: Int, probe: MergeProbe.Point? = nil,
                        progress: (@Sendable (ExecutionProgress) -> Void)? = nil) throws -> MethodOutcome {
        precondition(method.contextLength == prompt.context.count && method.queryLength == prompt.query.count,
                     "plan built for \(method.contextLength)+\(method.queryLength) tokens, prompt has \(prompt.context.count)+\(prompt.query.count)")
        let sequence = prompt.context + prompt.query
        try model.validate(tokens: sequence + [0], positions: (0...Int32(sequence.count)).map { $0 })
        guard sequence.count + maxNewTokens <= model.config.contextLength else {
            throw StarSimError.invalid(
                "generate", "prompt (\(sequence.count) tokens) + \(maxNewTokens) generated tokens exceed the model's context of \(model.config.contextLength)")
        }
        var meter: ProgressMeter?
        if let progress {
            // Dry run of the same programs on modeled hosts: the total modeled compute, for the share done.
            let dry = ProgressMeter(method: name, hosts: method.hosts, layers: shape.layers,
                                    maxNewTokens: maxNewTokens, total: 0, observer: nil)
            _ = try ClusterExecution.run(
                method, name: name, setup: setup, shape: shape, weightBytes: 0, stopTokens: [],
                maxNewTokens: maxNewTokens, recordsLog: false, progress: dry,
                makeBackend: { _ in ModeledBackend() })
            meter = ProgressMeter(method: name, hosts: method.hosts, layers: shape.layers,
                                  maxNewTokens: maxNewTokens, total: dry.finishedSeconds, observer: progress)
        }
        let model = model
        // A cached prefix (a persistent-KV prefill): its K,V from one exact forward pass, as the
        // earlier turn that computed them would have left them; each host gets its runs of it.
        let cached = method.cachedLength
        var cache: KVCache?
        if cached > 0 {
            var hook = GlobalAttention(config: model.config, reservingTokens: cached)
            _ = try model.forward(tokens: Array(prompt.context[..<cached]), positions: (0..<Int32(cached)).map { $0 }, hook: &hook)
            cache = hook.cache
        }
        let run = try ClusterExecution.run(
            method, name: name, setup: setup, shape: shape, weightBytes: Int64(model.weightBytes),
            stopTokens: stopTokens, maxNewTokens: maxNewTokens, progress: meter,
            makeBackend: { host in
                let tensors = HostTensors(model: model, sequence: sequence, host: host, probe: probe)
                if let cache { tensors.seed(method.cachedRuns(host: host), from: cache) }
                return tensors
            })
        var outcome = run.outcome
        outcome.logits = run.backends[method.queryHost].logitsHistory
        outcome.mergeProbe = run.backends[method.queryHost].probe
        return outcome
    }

    /// `method` on modeled hosts (no tensors): the same programs and op costs as `execute`, generating
    /// exactly `tokens` tokens (a real run that stopped at end of turn generated fewer than its
    /// maximum: pass its count to get its timing). Milliseconds, not minutes.
    public func modeledRun(_ method: AttentionMethod, name: String, setup: ClusterSetup, tokens: Int) throws -> MethodOutcome {
        var setup = setup
        setup.timing = .modeled
        return try ClusterExecution.run(
            method, name: name, setup: setup, shape: shape, weightBytes: Int64(model.weightBytes), stopTokens: [],
            maxNewTokens: tokens, makeBackend: { _ in ModeledBackend() }).outcome
    }
}
