import Dispatch
import Foundation

/// The one way the kernels spread independent work items over threads: items `0..<count` are handed
/// out one at a time to up to `workers` threads (the calling thread among them), so a thread that
/// starts late simply takes fewer. Which thread runs an item never changes what the item computes,
/// so results do not depend on `workers` or on timing. Returns when every item is done.
enum WorkSharing {
    /// Runs `body(item, state)` for every item; each thread makes its own `state` first (e.g. scratch
    /// buffers) and hands it to `release` when it runs out of items.
    static func forEach<State>(
        _ count: Int, workers: Int, state makeState: @escaping () -> State, release: @escaping (State) -> Void,
        _ body: @escaping (Int, State) -> Void
    ) {
        let threads = min(max(1, workers), count)
        if threads <= 1 {
            let state = makeState()
            defer { release(state) }
            for item in 0..<count { body(item, state) }
            return
        }
        let counter = WorkCounter()
        let work = UncheckedSendable(Work(makeState: makeState, release: release, body: body))
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            let state = work.value.makeState()
            defer { work.value.release(state) }
            while true {
                let item = counter.next()
                if item >= count { break }
                work.value.body(item, state)
            }
        }
    }

    /// `forEach` without per-thread state.
    static func forEach(_ count: Int, workers: Int, _ body: @escaping (Int) -> Void) {
        forEach(count, workers: workers, state: {}, release: { _ in }) { item, _ in body(item) }
    }
}

/// One `forEach` call's closures.
private struct Work<State> {
    let makeState: () -> State
    let release: (State) -> Void
    let body: (Int, State) -> Void
}

/// Closures that `concurrentPerform` workers run before `WorkSharing.forEach` returns.
/// `@unchecked Sendable`: callers' items write disjoint outputs (see each caller).
private struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Hands out work item indices 0, 1, 2, … to concurrent workers.
/// `@unchecked Sendable`: the only state, `value`, is read and written under `lock`.
private final class WorkCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        let v = value
        value += 1
        return v
    }
}
