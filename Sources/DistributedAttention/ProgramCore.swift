/// What a program does before phase 2.
enum Prefill: Sendable {
    case local(LocalEncoder)
    case ring(RingPrefill)
    case passQ(PassQPrefill)
    case apb(APBPrefill)
}

/// The event loop shared by every host program: a prefill stage, then (optionally) phase 2.
struct ProgramCore: Sendable {
    let host: Int
    private var ids = OpCounter()
    private var prefill: Prefill
    private var decoder: Phase2Engine?
    private var started = false
    private var prefillReported = false
    private(set) var finished = false

    init(host: Int, prefill: Prefill, decoder: Phase2Engine?) {
        self.host = host
        self.prefill = prefill
        self.decoder = decoder
    }

    private var prefillDone: Bool {
        switch prefill {
        case .local(let e): return e.isDone
        case .ring(let r): return r.isDone
        case .passQ(let r): return r.isDone
        case .apb(let r): return r.isDone
        }
    }

    /// After any prefill step: hands over to phase 2 once the prefill is done.
    private mutating func afterPrefill(_ out: [Directive]) -> [Directive] {
        guard prefillDone, !prefillReported else { return out }
        prefillReported = true
        guard var d = decoder else { return out + [.finish] }
        let more = d.prefillFinished(&ids)
        decoder = d
        return out + more
    }

    mutating func handle(_ event: HostEvent) -> [Directive] {
        precondition(!finished, "host \(host): event \(event) after finish")
        let out: [Directive]
        switch event {
        case .start:
            precondition(!started, "host \(host): started twice")
            started = true
            var first = decoder?.startMessages() ?? []
            switch prefill {
            case .local(var e):
                first += e.start(&ids)
                prefill = .local(e)
            case .ring(var r):
                first += r.start(&ids)
                prefill = .ring(r)
            case .passQ(var r):
                first += r.start(&ids)
                prefill = .passQ(r)
            case .apb(var r):
                first += r.start(&ids)
                prefill = .apb(r)
            }
            out = afterPrefill(first)
        case .computed(let id):
            precondition(started, "host \(host): \(event) before start")
            var handled: [Directive]?
            switch prefill {
            case .local(var e):
                handled = e.completed(id, &ids)
                prefill = .local(e)
            case .ring(var r):
                handled = r.completed(id, &ids)
                prefill = .ring(r)
            case .passQ(var r):
                handled = r.completed(id, &ids)
                prefill = .passQ(r)
            case .apb(var r):
                handled = r.completed(id, &ids)
                prefill = .apb(r)
            }
            if let h = handled {
                out = afterPrefill(h)
            } else if var d = decoder, let h = d.completed(id, &ids) {
                decoder = d
                out = h
            } else {
                preconditionFailure("host \(host): completion of unknown or finished op \(id)")
            }
        case .received(let m, let from):
            if case .ring(var r) = prefill, let h = r.received(m, from: from, &ids) {
                prefill = .ring(r)
                out = afterPrefill(h)
            } else if case .passQ(var r) = prefill, let h = r.received(m, from: from, &ids) {
                prefill = .passQ(r)
                out = afterPrefill(h)
            } else if case .apb(var r) = prefill, let h = r.received(m, from: from, &ids) {
                prefill = .apb(r)
                out = afterPrefill(h)
            } else if var d = decoder {
                out = d.received(m, from: from, &ids)
                decoder = d
            } else {
                preconditionFailure("host \(host): unexpected message \(m) from host \(from)")
            }
        case .sampled(let token, let stop):
            guard var d = decoder else { preconditionFailure("host \(host): sampled event but no decoder") }
            out = d.sampled(token: token, stop: stop, &ids)
            decoder = d
        }
        if out.contains(.finish) { finished = true }
        return out
    }
}
