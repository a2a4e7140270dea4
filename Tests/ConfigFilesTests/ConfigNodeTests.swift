import ConfigFiles
import Testing

@Suite struct ConfigNodeTests {
    @Test func readsTypedFieldsWithDefaults() throws {
        let root = try ConfigNode.parse("hosts: 4\nblock: 32K\nscale: 0.5\nname: demo\nflag: yes\n", file: "t.yaml")
        #expect(try root.int("hosts") == 4)
        #expect(try root.int("block") == 32_768)
        #expect(try root.double("scale") == 0.5)
        #expect(try root.string("name") == "demo")
        #expect(try root.bool("flag", default: false))
        #expect(try root.int("missing", default: 7) == 7)
        try root.finish()
    }

    @Test func unknownFieldIsRejectedWithSuggestion() throws {
        let root = try ConfigNode.parse("hosts: 4\nhostz: 5\n", file: "s.yaml")
        _ = try root.int("hosts")
        _ = root.optional("hostz_typo_never_used")
        let error = #expect(throws: ConfigError.self) { try root.finish() }
        #expect(error?.field == "hostz")
        #expect(error?.line == 2)
    }

    @Test func suggestsClosestKnownField() throws {
        let root = try ConfigNode.parse("blok: 4\n", file: "s.yaml")
        _ = try root.int("block", default: 1)
        let error = #expect(throws: ConfigError.self) { try root.finish() }
        #expect(error?.description.contains("did you mean 'block'") == true)
    }

    @Test func typeAndRangeErrorsNameFieldAndLine() throws {
        let root = try ConfigNode.parse("a: 1\ncluster:\n  hosts: many\n  gpus: 0\n", file: "x.yaml")
        let cluster = try root.required("cluster", expected: "a mapping")
        let e1 = #expect(throws: ConfigError.self) { try cluster.int("hosts") }
        #expect(e1?.description == "x.yaml:3: field 'cluster.hosts': expected an integer, found the value 'many'")
        let e2 = #expect(throws: ConfigError.self) { try cluster.int("gpus", range: 1...8) }
        #expect(e2?.description == "x.yaml:4: field 'cluster.gpus': 0 is out of range; expected in 1...8")
    }

    @Test func syntaxErrorsAndMissingFiles() {
        let e1 = #expect(throws: ConfigError.self) { try ConfigNode.parse("a: [1, 2\n", file: "bad.yaml") }
        #expect(e1?.description.hasPrefix("bad.yaml: not valid YAML") == true)
        let e2 = #expect(throws: ConfigError.self) { try ConfigNode.load(file: "/nonexistent/x.yaml") }
        #expect(e2?.description == "/nonexistent/x.yaml: file not found")
        let e3 = #expect(throws: ConfigError.self) { try ConfigNode.parse("- 1\n- 2\n", file: "l.yaml") }
        #expect(e3?.message.contains("expected a mapping") == true)
    }

    @Test func choicesListTheOptions() throws {
        let root = try ConfigNode.parse("shape: star\n", file: "c.yaml")
        let e = #expect(throws: ConfigError.self) {
            try root.required("shape", expected: "a topology").asChoice(["ring": 1, "fully-connected": 2])
        }
        #expect(e?.message == "'star' is not one of: ring, fully-connected")
    }
}
