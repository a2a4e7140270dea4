import Foundation
import Testing
import TestSupport
@testable import StarSim

/// Replays every input the fuzzers found (`Fuzz/Regressions/<harness>/`) through the readers they
/// crashed or broke: each must now give a clear error or a correct result.
@Suite struct FuzzRegressionTests {
    static let regressions = repositoryRoot + "/Fuzz/Regressions"

    static func files(_ harness: String) -> [String] {
        let dir = regressions + "/" + harness
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted().map { dir + "/" + $0 }
    }

    @Test func regressionInputsExist() {
        #expect(!Self.files("fuzz-yaml").isEmpty && !Self.files("fuzz-gguf").isEmpty && !Self.files("fuzz-config-json").isEmpty)
    }

    @Test(arguments: files("fuzz-yaml"))
    func yamlInputs(_ file: String) throws {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        if let root = try? ConfigNode.parse(text, file: file) { _ = try? Scenario.parse(root) }
        if let link = try? ProfileCatalog.parseLink(yaml: text, file: file) {
            #expect(try ProfileCatalog.parseLink(yaml: link.yaml, file: "again.yaml") == link)
        }
        if let device = try? ProfileCatalog.parseDevice(yaml: text, file: file) {
            #expect(try ProfileCatalog.parseDevice(yaml: device.yaml, file: "again.yaml") == device)
        }
        if text.hasPrefix("x: [[[") {
            #expect(throws: ConfigError.self) { try ConfigNode.parse(text, file: file) }
        }
    }

    @Test(arguments: files("fuzz-config-json"))
    func configJSONInputs(_ file: String) {
        #expect(throws: ProjectionError.self) { try ModelSpec(huggingFaceConfig: file) }
    }

    @Test(arguments: files("fuzz-gguf"))
    func ggufInputs(_ file: String) throws {
        let gguf = try GGUFFile(path: file)
        #expect(throws: ModelError.self) { try LlamaModel(gguf: gguf) }
    }
}
