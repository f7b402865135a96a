/** The cost guard (src/runs/cost.ts), `max_cost` through the configuration layers, and `--ttl`. */
import * as fs from "fs";
import * as path from "path";
import { checkCost, costSoFar, projectedCost, roundCost } from "../../src/runs/cost";
import { projectedCostText } from "../../src/cli/up";
import { runFlagsFromOptions } from "../../src/cli/run-flags";
import { localMachinePrice } from "../../src/offers/backends-config";
import { DstackError, ExitCode } from "../../src/diagnostics";
import { errorsOf, load, testEnv, TASK } from "../config/helpers";

function refusal(fn: () => void): DstackError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DstackError) return e;
    throw e;
  }
  throw new Error("expected the cost guard to refuse");
}

describe("projected cost", () => {
  test("price × max_duration; free offers cost nothing whatever the duration; no duration is unbounded", () => {
    expect(projectedCost(2.5, 7200)).toBe(5);
    expect(projectedCost(0, null)).toBe(0);
    expect(projectedCost(0.5, null)).toBeNull();
    expect(roundCost(1 / 3)).toBe(0.33);
  });

  test("cost so far runs from creation and stops at the expiry", () => {
    const created = "2026-12-02T08:00:00.000Z";
    expect(costSoFar(2, created, null, Date.parse("2026-12-02T09:30:00Z"))).toBe(3);
    expect(costSoFar(2, created, "2026-12-02T09:00:00.000Z", Date.parse("2026-12-02T12:00:00Z"))).toBe(2);
  });

  test("the plan's text: cost with the rate, the unbounded case, the cap", () => {
    expect(projectedCostText(2, 7200, null)).toBe("$4.00 ($2.0/h × 2h)");
    expect(projectedCostText(0, null, 1)).toBe("$0.00, max cost $1.00");
    expect(projectedCostText(1, null, null)).toBe("unbounded (no max duration)");
  });
});

describe("checkCost", () => {
  test("over the cap: E6300, exit 9 (OverBudget), naming cost, rate, duration and cap", () => {
    const e = refusal(() => checkCost({ name: "ci-pr-7", price: 2, max_duration: 7200, max_cost: 3 }));
    expect(e.exitCode).toBe(ExitCode.OverBudget);
    expect(e.exitCode).toBe(9);
    expect(e.diagnostics[0]).toMatchObject({ code: "E6300", message: "ci-pr-7: projected cost $4.00 ($2/h × 2h) is above max_cost $3.00; nothing was created" });
  });

  test("a priced run without max_duration under a cap: E6301 (no bound), exit 9, hint --ttl", () => {
    const e = refusal(() => checkCost({ name: "r", price: 0.1, max_duration: null, max_cost: 100 }));
    expect(e.diagnostics[0]).toMatchObject({ code: "E6301" });
    expect(e.diagnostics[0].hint).toContain("--ttl");
    expect(e.exitCode).toBe(ExitCode.OverBudget);
  });

  test("at or under the cap, free runs and no cap pass", () => {
    expect(() => checkCost({ name: "r", price: 2, max_duration: 7200, max_cost: 4 })).not.toThrow();
    expect(() => checkCost({ name: "r", price: 0, max_duration: null, max_cost: 0 })).not.toThrow();
    expect(() => checkCost({ name: "r", price: 99, max_duration: null, max_cost: null })).not.toThrow();
  });
});

describe("max_cost and --ttl in the configuration layers", () => {
  test("a profile's max_cost, overridden by the configuration, overridden by --max-cost", () => {
    const files = { ".dstack/profiles.yml": "profiles:\n  - name: ci\n    default: true\n    max_cost: 5\n" };
    expect(load(TASK, { files }).max_cost).toBe(5);
    expect(load(`${TASK}max_cost: 3\n`, { files }).max_cost).toBe(3);
    expect(load(`${TASK}max_cost: 3\n`, { files, flags: { max_cost: "1.5" } }).max_cost).toBe(1.5);
    expect(load(TASK).max_cost).toBeNull();
  });

  test("--ttl sets max_duration; with a different --max-duration it is E1090", () => {
    expect(load(TASK, { flags: runFlagsFromOptions({ ttl: "2h" }) }).max_duration).toBe(7200);
    expect(runFlagsFromOptions({ ttl: "2h", maxDuration: "2h" }).max_duration).toBe("2h");
    expect(errorsOf(() => runFlagsFromOptions({ ttl: "2h", maxDuration: "3h" }))[0]).toMatchObject({ code: "E1090" });
  });

  test("bad amounts are refused", () => {
    expect(errorsOf(() => load(TASK, { flags: { max_cost: "ten" } }))[0]).toMatchObject({ code: "E1090" });
    expect(errorsOf(() => load(`${TASK}max_cost: -1\n`)).map((d) => d.code)).toContain("E1014");
  });

  test("config.yml prices the local machine (default 0); a bad price is E2011", () => {
    const env = testEnv();
    expect(localMachinePrice({ env })).toBe(0);
    fs.writeFileSync(path.join(env.DSTACK_HOME!, "config.yml"), "backends:\n  - type: local\n    price: 0.8\n");
    expect(localMachinePrice({ env })).toBe(0.8);
    fs.writeFileSync(path.join(env.DSTACK_HOME!, "config.yml"), "backends:\n  - type: local\n    price: cheap\n");
    expect(errorsOf(() => localMachinePrice({ env }))[0]).toMatchObject({ code: "E2011" });
  });
});
