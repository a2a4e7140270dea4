import CLibUV

// The only file that imports CLibUV. Everything above it sees a tiny Swift surface: a loop with one
// idle handle, one timer, one async handle, and `run()`. Status codes become `UVError` in `check`.

/// A libuv call failed. The message names the call and gives libuv's own text (`uv_strerror`).
public struct UVError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The libuv function that failed, e.g. `"uv_loop_init"`.
    public let call: String
    /// The negative libuv status code.
    public let code: Int32
    /// `uv_strerror(code)`.
    public let message: String

    public var description: String {
        "libuv call \(call) failed with status \(code): \(message)"
    }
}

/// The one place that turns a libuv status into a thrown error.
@inline(__always)
private func check(_ status: Int32, _ call: StaticString) throws(UVError) {
    if status < 0 {
        throw UVError(call: "\(call)", code: status, message: String(cString: uv_strerror(status)))
    }
}

/// Wakes a `UVLoop` from any thread (`uv_async_send`, the only thread-safe libuv call).
///
/// `@unchecked Sendable`: the only operation is `uv_async_send` on a handle that stays valid until
/// `UVLoop.close()`; `LoopExecutor` never wakes a loop after it has been closed (it checks
/// `isOpen` under its lock, and `close()` clears it under the same lock before the handle is closed).
struct UVWaker: @unchecked Sendable {
    fileprivate let handle: UnsafeMutablePointer<uv_async_t>

    /// Makes the loop call its `onWake` callback soon (coalesced: several sends may give one call).
    func wake() {
        _ = uv_async_send(handle)
    }
}

/// A libuv event loop with exactly the handles the scheduler needs.
///
/// Not thread-safe: every method must be called on the thread that runs the loop, except
/// `waker.wake()`. Callbacks run on that thread, inside `run()`.
///
/// C callbacks cannot capture context, so each handle's `data` field holds an unretained pointer to
/// this object; the object outlives its handles because `close()` runs the loop until every close
/// callback has fired before freeing anything.
final class UVLoop {
    private let loop: UnsafeMutablePointer<uv_loop_t>
    private let idle: UnsafeMutablePointer<uv_idle_t>
    private let timer: UnsafeMutablePointer<uv_timer_t>
    private let async: UnsafeMutablePointer<uv_async_t>
    private var idleActive = false
    private var closed = false

    /// Called on every loop iteration while the idle handle is started.
    var onIdle: () -> Void = {}
    /// Called when the one-shot timer fires.
    var onTimer: () -> Void = {}
    /// Called on the loop thread after one or more `waker.wake()` calls.
    var onWake: () -> Void = {}

    init() throws(UVError) {
        loop = .allocate(capacity: 1)
        idle = .allocate(capacity: 1)
        timer = .allocate(capacity: 1)
        async = .allocate(capacity: 1)
        do {
            try check(uv_loop_init(loop), "uv_loop_init")
        } catch {
            loop.deallocate(); idle.deallocate(); timer.deallocate(); async.deallocate()
            throw error
        }
        let me = Unmanaged.passUnretained(self).toOpaque()
        // These three cannot fail on an initialised loop (libuv returns 0 unconditionally for idle
        // and timer; async only fails on fd exhaustion, which we report).
        try check(uv_idle_init(loop, idle), "uv_idle_init")
        idle.pointee.data = me
        try check(uv_timer_init(loop, timer), "uv_timer_init")
        timer.pointee.data = me
        try check(uv_async_init(loop, async) { handle in
            UVLoop.from(handle!.pointee.data).onWake()
        }, "uv_async_init")
        async.pointee.data = me
    }

    deinit {
        // Normally closed by its owner; this also covers an `init` that threw after `uv_loop_init`.
        if !closed { try? close() }
    }

    private static func from(_ data: UnsafeMutableRawPointer?) -> UVLoop {
        Unmanaged<UVLoop>.fromOpaque(data!).takeUnretainedValue()
    }

    /// A thread-safe handle that wakes this loop.
    var waker: UVWaker { UVWaker(handle: async) }

    /// Starts calling `onIdle` on every iteration (the loop then polls for I/O without blocking).
    func startIdle() {
        guard !idleActive else { return }
        idleActive = true
        _ = uv_idle_start(idle) { handle in UVLoop.from(handle!.pointee.data).onIdle() }
    }

    /// Stops calling `onIdle`.
    func stopIdle() {
        guard idleActive else { return }
        idleActive = false
        _ = uv_idle_stop(idle)
    }

    /// (Re)arms the one-shot timer to fire `onTimer` after `milliseconds` (libuv resolution: 1 ms).
    func startTimer(milliseconds: UInt64) throws(UVError) {
        try check(uv_timer_start(timer, { handle in UVLoop.from(handle!.pointee.data).onTimer() },
                                 milliseconds, 0), "uv_timer_start")
    }

    /// Runs the loop until `stop()` is called or no active handle remains.
    func run() throws(UVError) {
        try check(uv_run(loop, UV_RUN_DEFAULT), "uv_run")
    }

    /// Makes `run()` return after the current iteration.
    func stop() { uv_stop(loop) }

    /// Closes every handle, runs the loop until their close callbacks have fired, and closes the loop.
    /// Idempotent.
    func close() throws(UVError) {
        guard !closed else { return }
        closed = true
        stopIdle()
        _ = uv_timer_stop(timer)
        for handle in [UnsafeMutableRawPointer(idle), UnsafeMutableRawPointer(timer), UnsafeMutableRawPointer(async)] {
            uv_close(handle.assumingMemoryBound(to: uv_handle_t.self), nil)
        }
        try check(uv_run(loop, UV_RUN_DEFAULT), "uv_run (closing)")
        let status = uv_loop_close(loop)
        idle.deallocate(); timer.deallocate(); async.deallocate(); loop.deallocate()
        try check(status, "uv_loop_close")
    }
}

/// The wall clock the scheduler paces against: `uv_hrtime`, monotonic nanoseconds.
enum WallClock {
    static func nanoseconds() -> UInt64 { uv_hrtime() }
}
