import FoundationEssentials
import FuzzSupport
import VGPUCore
import VGPUHost

/// A journal record (/var/lib/vgpuctl/journal/ID.json) as `Journal.pending` reads it (`JSONDecoder` into
/// `Journal.Record`; pending wraps any error in a VGPUError naming the file), then what `Recovery.run` derives
/// from it before running a step (the inverse steps of a roll-back, each step's summary). A record read must
/// be written back (`Record.json`, what `Journal.begin` writes) and read again unchanged.
@main enum FuzzJournal {
    static func main() {
        runFuzzer { bytes in
            let record: Journal.Record
            do { record = try JSONDecoder().decode(Journal.Record.self, from: Data(text(bytes).utf8)) } catch {
                guard error is DecodingError || error is VGPUError else { finding("an unexpected error: \(error)") }
                return
            }
            let plan = record.plan
            let steps = plan.recovery == .rollBack ? plan.steps.reversed().map(\.inverse) : plan.steps
            for step in steps where step.summary.isEmpty { finding("a step without a summary: \(step)") }
            guard steps.map(\.inverse.inverse) == steps else { finding("a step whose inverse's inverse differs") }
            let json = record.json
            do {
                let again = try JSONDecoder().decode(Journal.Record.self, from: Data(json.utf8))
                guard again == record else { finding("read back differently:\n\(json)") }
            } catch { finding("what Journal.begin writes is refused: \(error)\n\(json)") }
        }
    }
}
