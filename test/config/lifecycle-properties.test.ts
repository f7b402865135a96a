/**
 * Lifecycle properties no backend honours are never silently ignored: `idle_duration` (and its
 * legacy forms), `creation_policy: reuse`, `schedule` and `utilization_policy` are reported as
 * unsupported (E1100), located at the property in the configuration, or naming the profile.
 */
import { unsupportedDiagnostics } from "../../src/config";
import { DEV, loadDev, loadTask, TASK } from "./helpers";

describe("lifecycle properties that are rejected, with their place", () => {
  it("idle_duration, termination_idle_time and creation_policy: reuse in the configuration", () => {
    const s = loadTask(`${TASK}idle_duration: 10m\ncreation_policy: reuse\n`);
    const d = unsupportedDiagnostics(s);
    expect(d.map((x) => [x.code, x.message.split(" ")[0], x.line, x.col])).toEqual([
      ["E1100", "idle_duration", TASK.split("\n").length, 1],
      ["E1100", "creation_policy", TASK.split("\n").length + 1, 1],
    ]);
    expect(d[0]!.file).toBe(s.configuration_path);
    expect(d[0]!.message).toContain("no pool of idle instances");
    expect(unsupportedDiagnostics(loadDev(`${DEV}termination_idle_time: 5m\n`)).map((x) => x.message.split(" ")[0])).toEqual(["termination_idle_time"]);
  });

  it("what is honoured is not reported: creation_policy: reuse-or-create, stop_duration, inactivity_duration, max_duration, retry", () => {
    const s = loadDev(`${DEV}creation_policy: reuse-or-create\nstop_duration: 30s\ninactivity_duration: 30m\nmax_duration: 1h\nretry: true\n`);
    expect(s.unsupported).toEqual([]);
    expect([s.stop_duration, s.inactivity_duration, s.max_duration, s.retry.enabled]).toEqual([30, 1800, 3600, true]);
  });

  it("the same properties from a profile name the profile", () => {
    const profiles = `profiles:\n  - name: pool\n    default: true\n    idle_duration: 1h\n    creation_policy: reuse\n    utilization_policy: {min_gpu_utilization: 10, time_window: 10m}\n`;
    const s = loadTask(TASK, { files: { ".dstack/profiles.yml": profiles } });
    const d = unsupportedDiagnostics(s);
    expect(d.map((x) => x.message.split(" ")[0]).sort()).toEqual(["creation_policy", "idle_duration", "utilization_policy"]);
    for (const x of d) expect(x.message).toContain("set by profile pool in ");
  });
});
