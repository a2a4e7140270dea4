import HeapModule

/// A priority queue of timed events with a total, reproducible order: by time, then by insertion
/// sequence (so two events at the same instant come out in the order they were pushed).
///
/// The scheduler's only notion of "what happens next". It also enforces that time never goes
/// backwards: pushing an event earlier than the last popped one is a programming error.
///
/// Memory is proportional to the number of *pending* events (a binary heap in one array), not to
/// the number already processed.
///
/// - Complexity: `push` and `pop` O(log n) for n pending events; `nextTime` O(1).
public struct EventQueue<Event> {
    struct Entry: Comparable {
        var time: SimInstant
        var sequence: UInt64
        var event: Event

        static func < (a: Entry, b: Entry) -> Bool {
            a.time != b.time ? a.time < b.time : a.sequence < b.sequence
        }
        static func == (a: Entry, b: Entry) -> Bool {
            a.time == b.time && a.sequence == b.sequence
        }
    }

    private var heap = Heap<Entry>()
    private var nextSequence: UInt64 = 0
    /// The time of the last popped event (`.zero` before the first pop); no event may be pushed
    /// before it.
    public private(set) var now: SimInstant = .zero

    public init() {}

    /// Pending events.
    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }
    /// Total events pushed so far.
    public var pushedCount: UInt64 { nextSequence }

    /// The time of the earliest pending event.
    public var nextTime: SimInstant? { heap.min?.time }

    /// Adds `event` at `time`.
    /// - Precondition: `time >= now` (virtual time never goes backwards).
    public mutating func push(_ event: Event, at time: SimInstant) {
        precondition(time >= now,
                     "event scheduled at \(time.nanoseconds) ns, before the current time \(now.nanoseconds) ns")
        heap.insert(Entry(time: time, sequence: nextSequence, event: event))
        nextSequence &+= 1
    }

    /// Removes and returns the earliest event (ties: first pushed), advancing `now` to its time.
    public mutating func pop() -> (time: SimInstant, event: Event)? {
        guard let e = heap.popMin() else { return nil }
        now = e.time
        return (e.time, e.event)
    }

    /// Advances `now` to `time` without popping (for events that live outside the queue, such as
    /// network deliveries). - Precondition: `now <= time <= nextTime`.
    public mutating func advance(to time: SimInstant) {
        precondition(time >= now, "time moved backwards: \(time.nanoseconds) ns < \(now.nanoseconds) ns")
        if let next = nextTime {
            precondition(time <= next, "advancing to \(time.nanoseconds) ns would skip an event at \(next.nanoseconds) ns")
        }
        now = time
    }
}

extension EventQueue: Sendable where Event: Sendable {}
extension EventQueue.Entry: Sendable where Event: Sendable {}
