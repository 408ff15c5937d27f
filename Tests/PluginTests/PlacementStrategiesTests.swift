import OmniCore
import OmniTestSupport
import PlacementStrategies
import XCTest

/// One conformance suite over every strategy, then each strategy's own behaviour.
final class PlacementStrategiesTests: XCTestCase {
    static let MiB = 1 << 20

    /// A small model: tied embed/head, 6 layers, a tower, and a big no-split unit.
    static let units: [PlacementUnit] = {
        var u = [PlacementUnit(prefix: "thinker.model.embed_tokens", component: "thinker", bytes: 8 * MiB,
                               tiedGroup: "embed")]
        for i in 0..<6 { u.append(PlacementUnit(prefix: "thinker.model.layers.\(i)", component: "thinker", bytes: 10 * MiB)) }
        u.append(PlacementUnit(prefix: "thinker.model.norm", component: "thinker", bytes: 1024, tiedGroup: "head"))
        u.append(PlacementUnit(prefix: "thinker.lm_head", component: "thinker", bytes: 0, tiedGroup: "embed"))
        u.append(PlacementUnit(prefix: "thinker.visual", component: "vision_tower", bytes: 5 * MiB))
        u.append(PlacementUnit(prefix: "token2wav.code2wav_dit_model", component: "token2wav", bytes: 20 * MiB))
        return u
    }()
    static var total: Int { units.reduce(0) { $0 + $1.bytes } }

    static let budgetSets: [[DeviceBudget]] = [
        [],
        [DeviceBudget(device: .cpu, bytes: nil)],
        [DeviceBudget(device: .cpu, bytes: 40 * MiB), DeviceBudget(device: .disk, bytes: nil)],
        [DeviceBudget(device: .cpu, bytes: 40 * MiB), DeviceBudget(device: .disk, bytes: 10 * MiB)],
        [DeviceBudget(device: DeviceID("cuda", index: 0), bytes: 50 * MiB),
         DeviceBudget(device: DeviceID("cuda", index: 1), bytes: 50 * MiB),
         DeviceBudget(device: .cpu, bytes: 30 * MiB), DeviceBudget(device: .disk, bytes: nil)],
        [DeviceBudget(device: .cpu, bytes: 1 * MiB)],
    ]

    static var strategies: [any PlacementStrategy] {
        [CPUPlacement(), SequentialPlacement(), BalancedPlacement(), AutoPlacement(),
         ExplicitPlacement(map: ["": .cpu, "thinker.model.layers": .disk, "token2wav": .disk])]
    }

    func testEveryStrategyConformsOrRefusesWithAPlacementError() throws {
        for s in Self.strategies {
            var placed = 0
            for budgets in Self.budgetSets {
                do {
                    let plan = try s.place(Self.units, budgets: budgets)
                    XCTAssertEqual(PlacementConformance.violations(plan, units: Self.units, budgets: budgets), [],
                                   "\(s.name) under \(budgets)")
                    placed += 1
                } catch let OmniError.placement(strategy, reason, _) {
                    XCTAssertEqual(strategy, s.name)
                    XCTAssertFalse(reason.isEmpty)
                }
            }
            XCTAssertGreaterThan(placed, 1, s.name)
        }
    }

    func testConformanceCheckCatchesBrokenPlans() {
        var plan = PlacementPlan()
        for u in Self.units { plan.assign(u.prefix, to: .cpu) }
        plan.assign("thinker.lm_head", to: .disk)
        plan.assign("ghost", to: .cpu)
        let v = PlacementConformance.violations(plan, units: Self.units,
                                                budgets: [DeviceBudget(device: .cpu, bytes: Self.MiB)])
        XCTAssertTrue(v.contains { $0.contains("extra [\"ghost\"]") }, "\(v)")
        XCTAssertTrue(v.contains { $0.contains("tied group embed") }, "\(v)")
        XCTAssertTrue(v.contains { $0.contains("over its budget") }, "\(v)")
        XCTAssertTrue(v.contains { $0.contains("unlisted device disk") }, "\(v)")
    }

    func testSequentialFillsInOrderThenSpillsToDisk() throws {
        let budgets = [DeviceBudget(device: .cpu, bytes: 40 * Self.MiB), DeviceBudget(device: .disk, bytes: nil)]
        let plan = try SequentialPlacement().place(Self.units, budgets: budgets)
        let devices = plan.assignments.map(\.device)
        // embed (8) + lm_head (0, tied) + layers 0..2 (30) = 38 MiB on cpu; everything after goes to disk.
        XCTAssertEqual(plan.device(for: "thinker.model.layers.2.mlp.up_proj.weight"), .cpu)
        XCTAssertEqual(plan.device(for: "thinker.model.layers.3.mlp.up_proj.weight"), .disk)
        XCTAssertEqual(plan.device(for: "thinker.lm_head.weight"), .cpu, "tied with embed_tokens")
        XCTAssertEqual(plan.device(for: "thinker.visual.blocks.0.attn.q.weight"), .disk, "never goes back")
        XCTAssertEqual(devices.filter { $0 == .cpu }.count, 5)
    }

    func testRefusalNamesTheSmallestBudgetThatWorks() throws {
        let budgets = [DeviceBudget(device: .cpu, bytes: 40 * Self.MiB), DeviceBudget(device: .disk, bytes: 10 * Self.MiB)]
        XCTAssertThrowsError(try SequentialPlacement().place(Self.units, budgets: budgets)) { e in
            guard case let .placement(_, reason, smallest)? = e as? OmniError else { return XCTFail("\(e)") }
            XCTAssertTrue(reason.contains("does not fit"), reason)
            // disk needs layers 3..5 + norm + visual + dit = 55 MiB + 1 KiB; cpu would need everything but
            // what 10 MiB of disk takes once cpu holds the rest in order.
            let disk = 55 * Self.MiB + 1024
            XCTAssertTrue(smallest.contains { $0.hasPrefix("disk=") && $0.contains("(\(disk) bytes)") }, "\(smallest)")
            XCTAssertTrue("\(e)".contains("smallest budget that would work"), "\(e)")
        }
        // Verify the claim: that disk budget works, one byte less does not.
        let ok = [budgets[0], DeviceBudget(device: .disk, bytes: 55 * Self.MiB + 1024)]
        XCTAssertNoThrow(try SequentialPlacement().place(Self.units, budgets: ok))
        let short = [budgets[0], DeviceBudget(device: .disk, bytes: 55 * Self.MiB + 1023)]
        XCTAssertThrowsError(try SequentialPlacement().place(Self.units, budgets: short))
        XCTAssertThrowsError(try CPUPlacement().place(Self.units, budgets: [DeviceBudget(device: .cpu, bytes: 1)])) { e in
            XCTAssertTrue("\(e)".contains("cpu=") && "\(e)".contains("(\(Self.total) bytes)"), "\(e)")
        }
    }

    func testBalancedSpreadsEvenlyAndAutoPrefersAccelerators() throws {
        let gpus = [DeviceBudget(device: DeviceID("cuda", index: 0), bytes: nil),
                    DeviceBudget(device: DeviceID("cuda", index: 1), bytes: nil)]
        let plan = try BalancedPlacement().place(Self.units, budgets: gpus + [DeviceBudget(device: .cpu, bytes: nil)])
        var load: [DeviceID: Int] = [:]
        for u in Self.units { load[plan.device(for: u.prefix)!, default: 0] += u.bytes }
        XCTAssertEqual(load.count, 3, "three non-disk devices: \(load)")
        for (_, b) in load { XCTAssertLessThan(b, Self.total / 3 + 20 * Self.MiB, "\(load)") }

        let auto = try AutoPlacement().place(Self.units, budgets: gpus + [DeviceBudget(device: .cpu, bytes: nil)])
        XCTAssertTrue(auto.assignments.allSatisfy { $0.device.kind == "cuda" }, "\(auto.assignments)")
        XCTAssertEqual(auto.device(for: "thinker.model.embed_tokens"), DeviceID("cuda", index: 0))
        XCTAssertEqual(auto.device(for: "token2wav.code2wav_dit_model"), DeviceID("cuda", index: 1))

        let cpuDisk = [DeviceBudget(device: .cpu, bytes: 40 * Self.MiB), DeviceBudget(device: .disk, bytes: nil)]
        XCTAssertEqual(try AutoPlacement().place(Self.units, budgets: cpuDisk),
                       try SequentialPlacement().place(Self.units, budgets: cpuDisk))
        XCTAssertTrue(try BalancedPlacement().place(Self.units, budgets: []).assignments.allSatisfy { $0.device == .cpu })
    }

    func testExplicitMapsUseLongestPrefixAndCheckCoverage() throws {
        let m = ExplicitPlacement(map: ["thinker": .cpu, "thinker.model.layers.5": .disk, "token2wav": .disk])
        let plan = try m.place(Self.units, budgets: [DeviceBudget(device: .disk, bytes: nil)])
        XCTAssertEqual(plan.device(for: "thinker.model.layers.5.mlp.up_proj.weight"), .disk)
        XCTAssertEqual(plan.device(for: "thinker.model.layers.4.mlp.up_proj.weight"), .cpu)

        XCTAssertThrowsError(try m.place(Self.units, budgets: [])) { e in
            XCTAssertTrue("\(e)".contains("mapped to disk, which is not among the devices given"), "\(e)")
        }
        XCTAssertThrowsError(try ExplicitPlacement(map: ["thinker": .cpu]).place(Self.units, budgets: [])) { e in
            XCTAssertTrue("\(e)".contains("'token2wav.code2wav_dit_model' is not covered"), "\(e)")
        }
        let split = ExplicitPlacement(map: ["": .cpu, "thinker.model.layers.1.mlp": .disk])
        XCTAssertThrowsError(try split.place(Self.units, budgets: [DeviceBudget(device: .disk, bytes: nil)])) { e in
            XCTAssertTrue("\(e)".contains("would split the no-split unit 'thinker.model.layers.1'"), "\(e)")
        }
        let untied = ExplicitPlacement(map: ["": .cpu, "thinker.lm_head": .disk])
        XCTAssertThrowsError(try untied.place(Self.units, budgets: [DeviceBudget(device: .disk, bytes: nil)])) { e in
            XCTAssertTrue("\(e)".contains("share weights"), "\(e)")
        }
        XCTAssertThrowsError(try ExplicitPlacement(map: ["": .cpu]).place(
            Self.units, budgets: [DeviceBudget(device: .cpu, bytes: 1)])) { e in
            XCTAssertTrue("\(e)".contains("cpu=") && "\(e)".contains("(\(Self.total) bytes)"), "\(e)")
        }
        XCTAssertEqual(ExplicitPlacement(parsing: "thinker=cpu, talker=disk")?.map, ["thinker": .cpu, "talker": .disk])
        XCTAssertNil(ExplicitPlacement(parsing: "thinker"))
        XCTAssertNil(ExplicitPlacement(parsing: "a=cpu,a=disk"))
    }
}
