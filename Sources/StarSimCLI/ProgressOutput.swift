import Foundation
import Synchronization

/// The one way every command shows transient progress on stderr: redrawn in place on a terminal,
/// and as whole lines (at most one per tenth of the work, plus the last) when stderr is a pipe or a
/// file, so a log never holds `projecting 1/6projecting 2/6…`. Results go to stdout. Thread-safe
/// (sweeps report from their workers).
final class ProgressOutput: Sendable {
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private struct State { var lastTenth = -1; var open = false; var lastStatus: UInt64 = 0 }
    private let state = Mutex(State())

    /// Shows `text` for `done` of `total` units of work; the line ends when `done == total`.
    func update(_ text: String, done: Int, total: Int) {
        state.withLock { s in
            if isTerminal {
                write("\r\u{1B}[K" + text + (done >= total ? "\n" : ""))
                s.open = done < total
            } else {
                let tenth = total > 0 ? 10 * done / total : 10
                guard tenth != s.lastTenth || done >= total else { return }
                s.lastTenth = tenth
                write(text + "\n")
            }
        }
    }

    /// Shows where a long piece of work is, between two `update`s: redrawn on a terminal, at most one
    /// line per 5 s on a pipe.
    func status(_ text: String) {
        state.withLock { s in
            if isTerminal {
                write("\r\u{1B}[K" + text)
                s.open = true
            } else {
                let now = DispatchTime.now().uptimeNanoseconds
                guard now &- s.lastStatus >= 5_000_000_000 else { return }
                s.lastStatus = now
                write(text + "\n")
            }
        }
    }

    /// Writes a line that stays (a step started or finished), ending a redrawn line first.
    func line(_ text: String) {
        state.withLock { s in
            write((s.open ? "\n" : "") + text + "\n")
            s.open = false
        }
    }

    /// Ends a line left open on a terminal (e.g. when the work stopped early).
    func finish() {
        state.withLock { s in
            if s.open { write("\n") }
            s.open = false
        }
    }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}
