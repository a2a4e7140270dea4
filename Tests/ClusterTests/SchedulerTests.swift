import Cluster
import Testing
import TestSupport

@Suite("EventQueue")
struct SchedulerTests {
    @Test func popsInTimeThenInsertionOrder() {
        var rng = SplitMix64(seed: 7)
        var q = EventQueue<Int>()
        var pushed: [(time: Int64, index: Int)] = []
        for i in 0..<5_000 {
            // Only 50 distinct times, so most events share their time with ~100 others.
            let t = Int64.random(in: 0..<50, using: &rng) * 1_000
            q.push(i, at: SimInstant(nanoseconds: t))
            pushed.append((t, i))
        }
        // Independent reference: a stable sort by time keeps insertion order among equal times.
        let expected = pushed.enumerated().sorted { a, b in
            a.element.time != b.element.time ? a.element.time < b.element.time : a.offset < b.offset
        }.map(\.element.index)
        var got: [Int] = []
        var last = SimInstant.zero
        while let (t, e) = q.pop() {
            #expect(t >= last)
            #expect(q.now == t)
            last = t
            got.append(e)
        }
        #expect(got == expected)
        #expect(q.isEmpty)
    }

    @Test func equalTimesComeOutInInsertionOrder() {
        var q = EventQueue<String>()
        let t = SimInstant(nanoseconds: 42)
        for s in ["a", "b", "c", "d", "e"] { q.push(s, at: t) }
        q.push("early", at: SimInstant(nanoseconds: 41))
        var out: [String] = []
        while let (_, e) = q.pop() { out.append(e) }
        #expect(out == ["early", "a", "b", "c", "d", "e"])
    }

    @Test func interleavedPushesKeepOrderAndTimeNeverGoesBack() {
        // Push new events relative to the current time while popping, as the engine does.
        var rng = SplitMix64(seed: 99)
        var q = EventQueue<Int>()
        for i in 0..<100 { q.push(i, at: SimInstant(nanoseconds: Int64(i % 7))) }
        var popped = 0
        var last = SimInstant.zero
        var nextID = 100
        while let (t, _) = q.pop() {
            #expect(t >= last)
            last = t
            popped += 1
            if nextID < 10_000 {
                for _ in 0..<Int.random(in: 0...2, using: &rng) {
                    q.push(nextID, at: t + .nanoseconds(Int64.random(in: 0..<20, using: &rng)))
                    nextID += 1
                }
            }
        }
        #expect(popped == nextID)
        #expect(q.pushedCount == UInt64(nextID))
    }

    @Test func pushingIntoThePastIsAPreconditionFailure() async {
        await #expect(processExitsWith: .failure) {
            var q = EventQueue<Int>()
            q.push(1, at: SimInstant(nanoseconds: 10))
            _ = q.pop()
            q.push(2, at: SimInstant(nanoseconds: 5))
        }
    }
}
