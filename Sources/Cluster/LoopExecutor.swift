import DequeModule
import Foundation

/// A Swift concurrency executor whose jobs run on one libuv loop thread, in FIFO order.
///
/// It is both the `SerialExecutor` of every host actor and of the scheduler actor of a run
/// (their `unownedExecutor` returns it), and the `TaskExecutor` that tasks of the run are started
/// with (`Task(executorPreference:)`), so that continuations and nonisolated async code resume on
/// the loop instead of bouncing to the global executor (see `Docs/Cluster.md`, "Executor").
///
/// Jobs enqueued on the loop thread go to a plain deque; jobs enqueued from other threads go to a
/// locked inbox and wake the loop with `uv_async_send`. The loop drains jobs from a `uv_idle`
/// callback in batches of at most `batchSize`, so libuv gets a turn (timers, wake-ups) between
/// batches, and stops its idle handle when nothing is left.
///
/// `@unchecked Sendable`: the mutable state is split by thread. `local`, `deferred`, `timerWaiter`
/// and `loop` are touched only on the loop thread (checked with `preconditionOnLoopThread()` on the
/// paths that are not hot); `inbox` and `isOpen` only under `lock`; jobs arriving after the run
/// ended run under `lateLock`.
final class LoopExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    private let thread: pthread_t
    private let loop: UVLoop
    private let waker: UVWaker
    private let batchSize: Int
    private var local = Deque<UnownedJob>()
    private var deferred: [UnsafeContinuation<Void, Never>] = []
    private var timerWaiter: UnsafeContinuation<Void, Never>?
    private let lock = NSLock()
    private var inbox: [UnownedJob] = []
    private var isOpen = true
    /// Set on the loop thread when the run is over; read only on the loop thread.
    private var closedOnLoopThread = false

    /// Jobs run so far (for the benchmark).
    private(set) var jobsRun = 0

    /// Binds a new executor to `loop` and to the *calling* thread, which must be the thread that will
    /// call `loop.run()`.
    init(loop: UVLoop, batchSize: Int) {
        precondition(batchSize > 0, "batchSize must be > 0, got \(batchSize)")
        self.thread = pthread_self()
        self.loop = loop
        self.waker = loop.waker
        self.batchSize = batchSize
        loop.onIdle = { [unowned self] in self.drainBatch() }
        loop.onWake = { [unowned self] in self.takeInbox() }
        loop.onTimer = { [unowned self] in
            let waiter = self.timerWaiter
            self.timerWaiter = nil
            waiter?.resume()
        }
    }

    var isOnLoopThread: Bool { pthread_equal(pthread_self(), thread) != 0 }

    func preconditionOnLoopThread(_ what: @autoclosure () -> String = "") {
        precondition(isOnLoopThread, "not on the simulation loop thread \(what())")
    }

    // MARK: Executor conformances

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if isOnLoopThread && !closedOnLoopThread {
            local.append(job)
            loop.startIdle()
        } else {
            lock.lock()
            if isOpen {
                inbox.append(job)
                // Woken under the lock: `finishAfterRun` closes the inbox under the same lock before
                // the loop (and this async handle) is closed, so the handle is valid here.
                waker.wake()
                lock.unlock()
            } else {
                lock.unlock()
                runAfterClose(job)
            }
        }
    }

    /// A job that arrives after the run ended (e.g. a stray task touching a host actor it kept) has
    /// no loop to run on. It runs right away on the enqueuing thread, serialised with every other
    /// such job by `lateLock` (recursive: a late job may enqueue another), so the actors stay
    /// mutually exclusive. The run's results are already final by then.
    private func runAfterClose(_ job: UnownedJob) {
        lateLock.lock()
        job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
        lateLock.unlock()
    }
    private let lateLock = NSRecursiveLock()

    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
    func asUnownedTaskExecutor() -> UnownedTaskExecutor { UnownedTaskExecutor(ordinary: self) }

    /// Lets `assumeIsolated` succeed on the loop thread outside a job (e.g. in a libuv callback).
    func checkIsolated() {
        preconditionOnLoopThread("(checkIsolated)")
    }

    // MARK: Draining

    private func takeInbox() {
        lock.lock()
        let taken = inbox
        inbox.removeAll(keepingCapacity: true)
        lock.unlock()
        if !taken.isEmpty {
            local.append(contentsOf: taken)
            loop.startIdle()
        }
    }

    private func drainBatch() {
        // Continuations parked by `yieldToLoop()` resume now, i.e. after libuv has had a turn.
        if !deferred.isEmpty {
            let parked = deferred
            deferred.removeAll(keepingCapacity: true)
            for c in parked { c.resume() }
        }
        let serial = asUnownedSerialExecutor()
        let task = asUnownedTaskExecutor()
        var n = 0
        while n < batchSize, let job = local.popFirst() {
            job.runSynchronously(isolatedTo: serial, taskExecutor: task)
            n += 1
        }
        jobsRun &+= n
        if local.isEmpty && deferred.isEmpty { loop.stopIdle() }
    }

    // MARK: Suspension points used by the scheduler

    /// Suspends the caller until the next loop iteration (libuv polls in between).
    func yieldToLoop(isolation: isolated (any Actor)? = #isolation) async {
        await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
            deferred.append(c)
            loop.startIdle()
        }
    }

    /// Suspends the caller until the one-shot uv timer fires after `milliseconds`.
    func sleep(milliseconds: UInt64, isolation: isolated (any Actor)? = #isolation) async throws(UVError) {
        preconditionOnLoopThread("(sleep)")
        precondition(timerWaiter == nil, "only one sleeper per loop")
        try loop.startTimer(milliseconds: milliseconds)
        await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
            timerWaiter = c
        }
    }

    /// Makes `loop.run()` return after this iteration (called by the last job of a run).
    func stopLoop() {
        preconditionOnLoopThread("(stopLoop)")
        loop.stopIdle()
        loop.stop()
    }

    /// After `loop.run()` returned: runs any job still queued (there should be none), then refuses
    /// further cross-thread jobs. Returns how many leftover jobs ran.
    func finishAfterRun() -> Int {
        preconditionOnLoopThread("(finishAfterRun)")
        var n = 0
        repeat {
            takeInbox()
            let serial = asUnownedSerialExecutor()
            let task = asUnownedTaskExecutor()
            while let job = local.popFirst() {
                job.runSynchronously(isolatedTo: serial, taskExecutor: task)
                n += 1
            }
        } while !local.isEmpty
        jobsRun &+= n
        lock.lock()
        isOpen = false
        lock.unlock()
        closedOnLoopThread = true
        loop.stopIdle()
        return n
    }
}
