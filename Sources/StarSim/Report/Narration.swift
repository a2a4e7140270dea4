import Cluster
import DistributedAttention
import Foundation

/// A run told as a story (`run --narrate`), with this run's numbers: who holds which tokens at which
/// positions, then phase by phase what each host computes, which messages go where over which link
/// with their bytes and times, who waits for whom and why, and at one layer and head the phase-2
/// merge with each host's log-sum-exp and weight next to global attention's output.
///
/// Repeated layers are folded into one line ("30 × one per layer, layers 0–29: …") unless
/// `detail` is `.all`, which tells every record in time order. Pure: reads the run's logs, plans
/// and merge probes; works for every method.
public enum Narration {
    public enum Detail: String, Sendable, CaseIterable {
        /// Repeated layers folded.
        case summary
        /// Every step, message and wait.
        case all
    }

    public static func text(_ run: ScenarioRun, detail: Detail = .summary) -> String {
        var out: [String] = []
        let L = run.prompt.split.context.count, q = run.prompt.split.query.count
        out.append("The story of \(run.scenario.name): \(run.prompt.summary); the model has "
            + "\(run.results.first.map { $0.outcome.method.contextLength } ?? L) context tokens (positions 0…\(max(0, L - 1))) "
            + "and \(q) query tokens (positions \(L)…\(L + q - 1)).")
        let reference = run.results.first { if case .global = $0.outcome.method { true } else { false } }?.outcome.mergeProbe
        for r in run.results {
            out.append("")
            out += method(r, contextLength: L, queryLength: q, detail: detail, reference: reference, heads: run.shape?.heads)
        }
        return out.joined(separator: "\n") + "\n"
    }

    // MARK: One method

    static func method(_ r: ScenarioRun.MethodResult, contextLength L: Int, queryLength q: Int, detail: Detail,
                       reference: MergeProbe?, heads: Int? = nil) -> [String] {
        let o = r.outcome
        var out = ["━━ \(o.name) on \(o.method.hosts) host\(o.method.hosts == 1 ? "" : "s"): answer \(r.answer.debugDescription), "
            + "first token at \(o.timeToFirstToken.map { "\($0)" } ?? "-"), finished at \(o.report.finish), "
            + "\(formatBytes(o.bytesMoved)) over links ━━"]
        out.append("Who holds what:")
        out += holdings(o.method, contextLength: L, queryLength: q).map { "  " + $0 }
        let log = o.report.log
        let names = Dictionary(log.hosts.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let byID = Dictionary(log.records.map { ($0.recordID, $0) }, uniquingKeysWith: { a, _ in a })
        let previousEnd = previousComputeEnd(log)
        let phases = orderedPhases(log)
        for phase in phases {
            let records = log.records.filter { $0.hasDuration && $0.phase == phase }
                .sorted { ($0.startTime, $0.recordID) < ($1.startTime, $1.recordID) }
            guard let first = records.first else { continue }
            let end = records.map(\.endTime).max() ?? first.endTime
            let start = records.filter { if case .compute = $0 { true } else { false } }.map(\.startTime).min() ?? first.startTime
            out.append("")
            out.append("Phase \(phaseTitle(phase)) (\(start) → \(end)):")
            switch detail {
            case .summary:
                for host in log.hosts.sorted(by: { $0.id < $1.id }) {
                    out += hostSummary(host.id, records: records, names: names, byID: byID, previousEnd: previousEnd).map { "  " + $0 }
                }
            case .all:
                out += everyRecord(records, names: names, byID: byID, previousEnd: previousEnd).map { "  " + $0 }
            }
        }
        out.append("")
        out.append("Why it took this long: " + (o.criticalPath.summary.split(separator: "\n").first.map(String.init) ?? "no work"))
        if let probe = o.mergeProbe {
            out.append("")
            let isGlobal = if case .global = o.method { true } else { false }
            out += merge(probe, method: o.name, reference: isGlobal ? nil : reference, compare: !isGlobal,
                         headHost: heads.flatMap { ulyssesHost(of: probe.point.head, heads: $0, o.method) })
        }
        return out
    }

    /// Which tokens each host encodes, at which positions (Star's anchor and the position jump).
    static func holdings(_ method: AttentionMethod, contextLength L: Int, queryLength q: Int) -> [String] {
        let queryHost = method.queryHost
        var lines: [String] = []
        func span(_ r: Range<Int>) -> String { r.isEmpty ? "no tokens" : "tokens \(r.lowerBound)..<\(r.upperBound)" }
        switch method {
        case .global:
            lines.append("host0 holds the whole context (\(span(0..<L)), positions 0…\(L - 1)) and encodes it in one causal pass.")
        case .star(let p):
            for h in 0..<p.hosts {
                var parts: [String] = []
                for i in p.blocks(onHost: h) {
                    let b = p.blockTokens(i)
                    if let a = p.anchorRun(i) {
                        let anchorEnd = Int(a.firstPosition) + a.count - 1
                        var text = "anchor \(span(a.tokens)) at positions \(a.firstPosition)…\(anchorEnd), then block \(i) = \(span(b)) "
                            + "at positions \(b.lowerBound)…\(b.upperBound - 1)"
                        if b.lowerBound != anchorEnd + 1 {
                            text += " — the position jumps from \(anchorEnd) to \(b.lowerBound): the block keeps its place in the "
                                + "document while it sees the anchor; the anchor's K,V are dropped after each layer"
                        }
                        parts.append(text)
                    } else {
                        parts.append("block \(i) = \(span(b)) at positions \(b.lowerBound)…\(b.upperBound - 1), with no anchor")
                    }
                }
                lines.append("host\(h) encodes " + (parts.isEmpty ? "nothing in phase 1" : parts.joined(separator: "; ")) + ".")
            }
        case .apb(let p):
            for h in 0..<p.hosts {
                let b = p.star.blockTokens(h)
                let anchor = p.star.anchorRun(h).map { "anchor \(span($0.tokens)) + " } ?? ""
                let passing = h == 0 ? "" : h == 1 ? "the passing block of host0 (\(p.passingSize) tokens) + "
                    : "the passing blocks of hosts 0…\(h - 1) (\(p.passingSize) tokens each) + "
                let sends = h < p.hosts - 1
                    ? " Each layer it keeps \(p.passingSize) of its block's tokens past the anchor (\(p.selection.rawValue), training-free) as its passing block for the later hosts."
                    : ""
                lines.append("host\(h) encodes block \(h) = \(span(b)) attending to \(anchor)\(passing)its own block.\(sends)")
            }
        case .ulysses(let p) where p.ringDegree == 1:
            for h in 0..<p.hosts {
                let r = p.shardRanges(h)[0]
                lines.append("host\(h) encodes \(span(r)) (positions \(r.lowerBound)…\(r.upperBound - 1)) and serves head group \(h) of \(p.hosts): "
                    + "each layer it receives every shard's Q, K, V of those heads, attends them to the whole sequence and returns "
                    + "the output slices; it keeps that group's K,V of every token.")
            }
        case .ulysses(let p):
            for h in 0..<p.hosts {
                let pieces = p.shardRanges(h).map { "\(span($0)) (positions \($0.lowerBound)…\($0.upperBound - 1))" }
                let r = p.ringGroup(h), u = p.headGroup(h)
                lines.append("host\(h) encodes \(pieces.joined(separator: " and ")) and serves head group \(u) of \(p.headDegree) in ring group \(r) of \(p.ringDegree): "
                    + "each layer it receives its ring group's shards' Q, K, V of those heads, passes that group's K,V block on to "
                    + "host\(p.host(ringGroup: (r + 1) % p.ringDegree, headGroup: u)) around the ring of head group \(u), attends the queries to every block "
                    + "(merging the partials) and returns the output slices"
                    + (r == p.ringDegree - 1 ? "; it keeps every block, to decode." : "."))
            }
        case .ring(let p) where p.partition == .striped:
            for h in 0..<p.hosts {
                let n = p.contextTokens(onHost: h)
                lines.append("host\(h) holds one token in \(p.hosts), from token \(h): \(n) tokens (\(h), \(h + p.hosts), \(h + 2 * p.hosts), …; "
                    + "positions equal token indices) — striped, so every ring step has nearly the same causal work.")
            }
        case .ring(let p):
            for h in 0..<p.hosts {
                let chunks = p.chunks(onHost: h).map { c -> String in
                    let r = p.chunkTokens(c)
                    return "chunk \(c) = \(span(r)) (positions \(r.lowerBound)…\(r.upperBound - 1))"
                }
                lines.append("host\(h) holds " + (chunks.isEmpty ? "no chunk" : chunks.joined(separator: " and ")) + ".")
            }
        }
        if case .ring(let p) = method, p.cachedLength > 0 {
            lines.append("Tokens 0..<\(p.cachedLength) are cached from an earlier turn: every host starts with their K,V for its share "
                + "(partitioned as above) and encodes only its new tokens, which attend to the cached K,V too — a persistent-KV prefill"
                + (p.exchange == .passQ ? "; pass-Q moves the new tokens' Q, never the cached K,V." : "; every K,V block that travels carries its cached tokens as well."))
        }
        lines.append("host\(queryHost) is the query host: it encodes the \(q) query tokens (positions \(L)…\(L + q - 1)), "
            + "samples each generated token and keeps their K,V.")
        return lines
    }

    // MARK: Phases

    static func orderedPhases(_ log: RunLog) -> [PhaseTag] {
        var first: [PhaseTag: SimInstant] = [:]
        for r in log.records where r.hasDuration {
            first[r.phase] = min(first[r.phase] ?? r.startTime, r.startTime)
        }
        return first.keys.sorted { (first[$0]!, $0) < (first[$1]!, $1) }
    }

    static func phaseTitle(_ tag: PhaseTag) -> String {
        switch Phase(tag: tag) {
        case .contextEncoding: "1 — context encoding"
        case .queryEncoding: "2 — the query attends to every host's K,V"
        case .generation: "2 — generated tokens, one at a time"
        case nil: tag.isNone ? "(no phase)" : tag.name
        }
    }

    /// `attend(L3, …)` → (`attend`, 3); `embed(…)` → (`embed`, nil).
    static func opAndLayer(_ label: String) -> (op: String, layer: Int?) {
        let op = String(label.prefix { $0 != "(" && $0 != " " })
        guard let range = label.range(of: #"\bL(\d+)\b"#, options: .regularExpression) else { return (op, nil) }
        return (op, Int(label[range].dropFirst()))
    }

    /// One host in one phase: its compute folded by layer, its messages grouped by receiver and kind,
    /// and its waits.
    static func hostSummary(_ host: HostID, records: [RunLog.Record], names: [HostID: String],
                            byID: [Int: RunLog.Record], previousEnd: [Int: SimInstant]) -> [String] {
        let name = names[host] ?? host.description
        let steps = records.compactMap { r -> RunLog.Record.Compute? in if case .compute(let c) = r, c.host == host { c } else { nil } }
        let sends = records.compactMap { r -> RunLog.Record.Transfer? in if case .transfer(let t) = r, t.from == host { t } else { nil } }
        guard !steps.isEmpty || !sends.isEmpty else { return [] }
        var lines: [String] = []
        if !steps.isEmpty {
            let busy = steps.reduce(SimDuration.zero) { $0 + ($1.end - $1.start) }
            lines.append("\(name) computes \(steps.count) step\(steps.count == 1 ? "" : "s") (\(busy) busy, "
                + "\(steps.first!.start) → \(steps.last!.end)): " + foldedSteps(steps))
        }
        // Messages: by (receiver, kind of message).
        struct Group { var count = 0; var bytes = 0; var first: RunLog.Record.Transfer; var layers: Set<Int> = [] }
        var groups: [String: Group] = [:]
        var order: [String] = []
        for t in sends {
            let (op, layer) = opAndLayer(t.label)
            let key = "\(t.to.rawValue) \(op)"
            if groups[key] == nil { groups[key] = Group(first: t); order.append(key) }
            groups[key]!.count += 1
            groups[key]!.bytes += t.bytes
            if let layer { groups[key]!.layers.insert(layer) }
        }
        for key in order {
            let g = groups[key]!, t = g.first
            let to = names[t.to] ?? t.to.description
            let route = t.route.isEmpty ? "" : " over " + t.route.map(\.description).joined(separator: ", ")
            let what = opAndLayer(t.label).op
            if g.count == 1 {
                lines.append("  → sends \(to) \(what) (\(formatBytes(t.bytes)))\(route): leaves \(t.sent), arrives \(t.delivered)")
            } else {
                let per = g.layers.count > 1 ? ", one per layer (\(layerRange(g.layers)))" : ""
                lines.append("  → sends \(to) \(g.count) × \(what)\(per), \(formatBytes(g.bytes)) in all\(route); the first leaves "
                    + "\(t.sent) and arrives \(t.delivered) (\(t.delivered - t.sent) for \(formatBytes(t.bytes)))")
            }
        }
        // Waits: a step that started after the host's previous step ended, held up by a message.
        var waited = SimDuration.zero, count = 0
        var longest: (wait: SimDuration, at: SimInstant, why: String)?
        for c in steps {
            let idleFrom = previousEnd[c.id] ?? .zero
            guard c.start > idleFrom else { continue }
            guard let cause = c.dependsOn.compactMap({ byID[$0] }).filter({ if case .transfer = $0 { true } else { false } })
                .max(by: { $0.endTime < $1.endTime }), case .transfer(let t) = cause, t.delivered > idleFrom else { continue }
            let wait = c.start - idleFrom
            waited = waited + wait
            count += 1
            if longest == nil || wait > longest!.wait {
                longest = (wait, idleFrom, "\(names[t.from] ?? t.from.description)'s \(short(t.label)) (\(formatBytes(t.bytes)), sent \(t.sent))")
            }
        }
        if let longest {
            lines.append("  ⧗ waits \(count) time\(count == 1 ? "" : "s"), \(waited) in all; the longest, \(longest.wait) from \(longest.at), "
                + "for \(longest.why)")
        }
        return lines
    }

    /// Steps folded by layer: per-layer patterns that repeat become one line.
    static func foldedSteps(_ steps: [RunLog.Record.Compute]) -> String {
        var others: [String: Int] = [:]
        var otherOrder: [String] = []
        // Units: consecutive steps at one layer.
        var units: [(layer: Int, ops: [(String, SimDuration)])] = []
        for c in steps {
            let (op, layer) = opAndLayer(c.label)
            guard let layer else {
                if others[op] == nil { otherOrder.append(op) }
                others[op, default: 0] += 1
                continue
            }
            if let last = units.last, last.layer == layer {
                units[units.count - 1].ops.append((op, c.end - c.start))
            } else {
                units.append((layer, [(op, c.end - c.start)]))
            }
        }
        var parts: [String] = []
        // Group units by their op sequence, keeping first-seen order.
        var patterns: [[String]: (count: Int, layers: Set<Int>, total: [SimDuration])] = [:]
        var patternOrder: [[String]] = []
        for u in units {
            let ops = u.ops.map(\.0)
            if patterns[ops] == nil {
                patterns[ops] = (0, [], Array(repeating: .zero, count: ops.count))
                patternOrder.append(ops)
            }
            patterns[ops]!.count += 1
            patterns[ops]!.layers.insert(u.layer)
            for (i, op) in u.ops.enumerated() { patterns[ops]!.total[i] = patterns[ops]!.total[i] + op.1 }
        }
        for ops in patternOrder {
            let p = patterns[ops]!
            let mean = zip(ops, p.total).map { "\($0) \(SimDuration(nanoseconds: $1.nanoseconds / Int64(p.count)))" }
            let passes = p.count / max(1, p.layers.count)
            let times = p.layers.count == 1 ? "layer \(p.layers.first!)" :
                "layers \(layerRange(p.layers)): the same pattern" + (passes > 1 ? ", \(passes) passes" : "")
            parts.append("\(p.count) × [\(mean.joined(separator: " + "))] (\(times))")
        }
        for op in otherOrder { parts.append(others[op]! == 1 ? op : "\(op) × \(others[op]!)") }
        return parts.joined(separator: "; ")
    }

    /// A message or step named by its kind and layer: `merged L3`, `token`.
    static func short(_ label: String) -> String {
        let (op, layer) = opAndLayer(label)
        return layer.map { "\(op) L\($0)" } ?? op
    }

    /// For every compute record, when its host's previous compute step ended (any phase); absent for
    /// a host's first step.
    static func previousComputeEnd(_ log: RunLog) -> [Int: SimInstant] {
        var out: [Int: SimInstant] = [:]
        var last: [HostID: SimInstant] = [:]
        let steps = log.records.compactMap { r -> RunLog.Record.Compute? in if case .compute(let c) = r { c } else { nil } }
            .sorted { ($0.start, $0.id) < ($1.start, $1.id) }
        for c in steps {
            if let end = last[c.host] { out[c.id] = end }
            last[c.host] = max(last[c.host] ?? c.end, c.end)
        }
        return out
    }

    static func layerRange(_ layers: Set<Int>) -> String {
        let s = layers.sorted()
        guard let lo = s.first, let hi = s.last else { return "" }
        if s.count == hi - lo + 1 { return lo == hi ? "\(lo)" : "\(lo)–\(hi)" }
        return s.map(String.init).joined(separator: ", ")
    }

    /// Every record of a phase in time order (`--narrate=all`), with the waits before steps.
    static func everyRecord(_ records: [RunLog.Record], names: [HostID: String], byID: [Int: RunLog.Record],
                            previousEnd: [Int: SimInstant]) -> [String] {
        var lines: [String] = []
        for r in records {
            switch r {
            case .compute(let c):
                let name = names[c.host] ?? c.host.description
                if let idle = previousEnd[c.id], c.start > idle,
                   let cause = c.dependsOn.compactMap({ byID[$0] }).max(by: { $0.endTime < $1.endTime }),
                   case .transfer(let t) = cause {
                    lines.append("\(c.start)  \(name) waited \(c.start - idle) (since \(idle)) for \(names[t.from] ?? t.from.description)'s \(short(t.label))")
                }
                lines.append("\(c.start)  \(name) \(c.label) for \(c.end - c.start)")
            case .transfer(let t):
                let route = t.route.isEmpty ? "" : " over " + t.route.map(\.description).joined(separator: ", ")
                lines.append("\(t.sent)  \(names[t.from] ?? t.from.description) → \(names[t.to] ?? t.to.description): \(t.label), "
                    + "\(formatBytes(t.bytes))\(route), arrives \(t.delivered)")
            case .memory, .mark:
                break
            }
        }
        return lines
    }

    // MARK: The merge

    /// Ulysses: the host whose head group holds `head` (nil for every other method).
    static func ulyssesHost(of head: Int, heads: Int, _ method: AttentionMethod) -> (host: Int, groups: Int)? {
        guard case .ulysses(let p) = method, heads % p.headDegree == 0 else { return nil }
        return (p.host(ringGroup: p.ringDegree - 1, headGroup: head / (heads / p.headDegree)), p.headDegree)
    }

    /// The phase-2 merge at the probe's layer and head, with the numbers. `headHost`: Ulysses, where
    /// the head's group was attended (whole, so nothing is merged).
    static func merge(_ probe: MergeProbe, method: String, reference: MergeProbe?, compare: Bool,
                      headHost: (host: Int, groups: Int)? = nil) -> [String] {
        let p = probe.point
        var lines = ["The merge at layer \(p.layer), head \(p.head), for the query's last token (on host\(probe.host)):"]
        func values(_ v: [Float]) -> String { v.map { String(format: "%+.5f", $0) }.joined(separator: " ") }
        if let h = headHost {
            lines.append("  Ulysses splits by heads: head \(p.head) is in head group \(h.host % h.groups) of \(h.groups), attended whole on host\(h.host) "
                + "over every key and returned to host\(probe.host) — nothing to merge. Output[0..<\(probe.output.count)] = \(values(probe.output))")
        } else if probe.parts.isEmpty {
            lines.append("  host\(probe.host) attends to every key itself: nothing to merge. Output[0..<\(probe.output.count)] = \(values(probe.output))")
        } else {
            let lses = probe.parts.map { Double($0.lse) }
            let m = lses.max() ?? 0
            let total = m + log(lses.reduce(0) { $0 + exp($1 - m) })
            lines.append("  each host's partial: its own softmax over its keys (output o_h) and lse_h = log Σ_j exp(q·k_j/√d);")
            lines.append("  weight w_h = exp(lse_h − lse), lse = log Σ_h exp(lse_h) = \(String(format: "%.4f", total)); merged = Σ_h w_h · o_h")
            var rows = [["from", "lse_h", "weight w_h", "o_h[0..<\(MergeProbe.shownValues)]"]]
            var merged = Array(repeating: 0.0, count: probe.parts.first?.values.count ?? 0)
            var sum = 0.0
            for part in probe.parts {
                let w = exp(Double(part.lse) - total)
                sum += w
                for i in merged.indices { merged[i] += w * Double(part.values[i]) }
                rows.append(["host\(part.source)", String(format: "%.4f", part.lse), String(format: "%.6f", w), values(part.values)])
            }
            lines += TextTable.lines(rows).map { "  " + $0 }
            lines.append("  the weights sum to \(String(format: "%.6f", sum)); Σ w_h·o_h = \(values(merged.map { Float($0) }))")
            lines.append("  the output the layer continued with: \(values(probe.output))")
        }
        if let reference, reference.point == p {
            let diff = zip(reference.output, probe.output).map { abs($0 - $1) }.max() ?? 0
            lines.append("  global attention at the same layer and head:  \(values(reference.output))  "
                + "(max |Δ| over these values \(String(format: "%.2e", diff))\(diff == 0 ? ", identical" : ""))")
        } else if reference == nil, compare {
            lines.append("  (add `global` to the scenario's methods to see global attention's output here)")
        }
        return lines
    }
}
