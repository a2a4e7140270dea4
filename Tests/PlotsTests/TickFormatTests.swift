import Plots
import Testing

@Suite struct TickFormatTests {
    @Test func tokensUseBinaryMultiples() {
        #expect(TickFormat.tokens.format(0) == "0")
        #expect(TickFormat.tokens.format(512) == "512")
        #expect(TickFormat.tokens.format(1024) == "1K")
        #expect(TickFormat.tokens.format(1536) == "1.5K")
        #expect(TickFormat.tokens.format(16384) == "16K")
        #expect(TickFormat.tokens.format(131_072) == "128K")
        #expect(TickFormat.tokens.format(1_048_576) == "1M")
        #expect(TickFormat.tokens.format(1_572_864) == "1.5M")
        // Not a round binary number: three significant digits (100000 / 1024 = 97.656…).
        #expect(TickFormat.tokens.format(100_000) == "97.7K")
    }

    @Test func secondsPickAReadableUnit() {
        #expect(TickFormat.seconds.format(0) == "0 s")
        #expect(TickFormat.seconds.format(40e-9) == "40 ns")
        #expect(TickFormat.seconds.format(0.00085) == "850 µs")
        #expect(TickFormat.seconds.format(0.012) == "12 ms")
        #expect(TickFormat.seconds.format(0.25) == "250 ms")
        #expect(TickFormat.seconds.format(1.5) == "1.5 s")
        #expect(TickFormat.seconds.format(120) == "120 s")
        #expect(TickFormat.seconds.format(-0.5) == "-500 ms")
    }

    @Test func bytesRatiosPercentPlain() {
        #expect(TickFormat.bytes.format(512) == "512 B")
        #expect(TickFormat.bytes.format(512e6) == "512 MB")
        #expect(TickFormat.bytes.format(1.2e9) == "1.2 GB")
        #expect(TickFormat.bytes.format(1.234567e9) == "1.23 GB")
        #expect(TickFormat.binaryBytes.format(1_610_612_736) == "1.5 GiB")
        #expect(TickFormat.binaryBytes.format(65536) == "64 KiB")
        #expect(TickFormat.ratio.format(2.5) == "2.5×")
        #expect(TickFormat.ratio.format(1) == "1×")
        #expect(TickFormat.percent.format(0.25) == "25%")
        #expect(TickFormat.plain.format(0.25) == "0.25")
        #expect(TickFormat.plain.format(1500) == "1500")
        #expect(TickFormat.plain.format(2e6) == "2e6")
        #expect(TickFormat.plain.format(2.5e-7) == "2.5e-7")
        #expect(TickFormat.plain.format(1e300) == "1e300")
        #expect(TickFormat.plain.format(0.30000000000000004) == "0.3")
        #expect(TickFormat.plain.format(.nan) == "NaN")
    }
}
