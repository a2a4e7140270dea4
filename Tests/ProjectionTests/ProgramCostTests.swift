import DistributedAttention
import Projection
import Testing

@Suite("Costing real host programs")
struct ProgramCostTests {
    /// Drives a single-host program (no messages) to the end, answering every compute op at once and
    /// stopping after `samples` sampled tokens; returns the summed modeled seconds and the op count.
    static func run(_ program: GlobalHostProgram, model: CostModel, samples: Int) -> (seconds: Double, ops: Int) {
        var program = program
        var pending: [HostEvent] = [.start]
        var seconds = 0.0, ops = 0, sampled = 0
        while !pending.isEmpty && !program.isFinished {
            let event = pending.removeFirst()
            for directive in program.handle(event) {
                guard case .compute(let id, let op) = directive else { continue }
                seconds += model.cost(of: op).seconds
                ops += 1
                if case .sample = op {
                    sampled += 1
                    pending.append(.sampled(token: 7, stop: sampled >= samples))
                } else {
                    pending.append(.computed(id))
                }
            }
        }
        #expect(program.isFinished)
        return (seconds, ops)
    }

    @Test("Every op a Global program emits has a cost; coarse and per-layer granularity cost the same")
    func globalProgram() throws {
        let device = try ProfileCatalog.device(named: "h100-sxm")
        let model = CostModel(device: device, shape: .llama31_8B)
        let plan = try GlobalPlan(contextLength: 8192, queryLength: 32)
        let fine = Self.run(plan.program(shape: .llama31_8B, granularity: .perLayer), model: model, samples: 4)
        let coarse = Self.run(plan.program(shape: .llama31_8B, granularity: .coarse), model: model, samples: 4)
        #expect(fine.ops > coarse.ops)
        #expect(fine.seconds > 0)
        #expect(relativeDifference(coarse.seconds, fine.seconds) < 1e-9, "coarse \(coarse.seconds) s vs per-layer \(fine.seconds) s")
        // Context prefill dominates: 8K tokens through 32 layers vs 32 query tokens + 3 decode steps.
        let prefill = Calibration.predict(CalibrationPoint(kind: .modelPrefillCausal(tokens: 8192, layers: 32), seconds: 1), model: model)
        #expect(fine.seconds > prefill && fine.seconds < 1.5 * prefill)
    }
}
