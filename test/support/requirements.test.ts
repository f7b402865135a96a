import { available, decide, missingRequirements, requirement, underCI } from "./requirements";

const here = requirement("a thing that is here", () => null);
const absent = (name: string, why: string) => requirement(name, () => why);

describe("suite requirements", () => {
  test("CI=true or CI=1 is CI; anything else is a local run", () => {
    expect([{ CI: "true" }, { CI: "1" }, { CI: "TRUE" }].map(underCI)).toEqual([true, true, true]);
    expect([{}, { CI: "" }, { CI: "false" }, { CI: "0" }].map(underCI)).toEqual([false, false, false, false]);
  });

  test("a requirement is checked once, and what is missing says why", () => {
    let calls = 0;
    const docker = requirement("a Docker engine", () => (calls++, "no socket"));
    expect(missingRequirements([here, docker])).toEqual([{ name: "a Docker engine", why: "no socket" }]);
    expect(missingRequirements(docker)).toEqual([{ name: "a Docker engine", why: "no socket" }]);
    expect(calls).toBe(1);
  });

  test("all met: the suite runs, under CI or not", () => {
    expect(decide([here], "suite", { CI: "true" })).toEqual({ kind: "run" });
    expect(decide(here, "suite", {})).toEqual({ kind: "run" });
  });

  test("under CI a missing requirement fails the suite, naming each missing one", () => {
    const d = decide([here, absent("a Docker engine", "no socket"), absent("the Pulumi CLI", "not on PATH")], "local program", { CI: "true" });
    expect(d).toEqual({
      kind: "fail",
      test: "requires a Docker engine, the Pulumi CLI",
      message: '"local program" cannot run under CI=true, where no suite skips itself: missing a Docker engine (no socket); the Pulumi CLI (not on PATH)',
    });
  });

  test("locally it skips, with one line saying which suite, in which file, and why", () => {
    const d = decide(absent("a Docker engine", "no socket"), "local program", {});
    expect(d).toEqual({ kind: "skip", line: 'skipping "local program" in test/support/requirements.test.ts: missing a Docker engine (no socket)\n' });
  });

  test("available(): true when met; throws under CI; locally false after the skip line", () => {
    const err = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(available(here, "part", { CI: "true" })).toBe(true);
      expect(err).not.toHaveBeenCalled();
      expect(() => available(absent("the real profiles", "no folder"), "part", { CI: "true" })).toThrow(/missing the real profiles \(no folder\)/);
      expect(available(absent("the real profiles", "no folder"), "part", {})).toBe(false);
      expect(err.mock.calls).toEqual([['skipping "part" in test/support/requirements.test.ts: missing the real profiles (no folder)\n']]);
    } finally {
      err.mockRestore();
    }
  });
});
