/**
 * One run-name rule: a name given outside a configuration (`dstack down NAME`, the files named
 * after a run) is accepted exactly when the configuration's `name:` would be.
 */
import { assertRunName } from "../../src/config/names";
import { ConfigError, DstackError, ExitCode } from "../../src/diagnostics";
import { DEV, load } from "./helpers";

const candidates = ["fast-moth-1", "ab", "train-llm", "a", "1abc", "Fast-Moth", "-ab", "ab_c", "../etc", "a b", "a".repeat(41), "a".repeat(42)];

function configAccepts(name: string): boolean {
  try {
    return load(`${DEV}name: ${JSON.stringify(name)}\n`).name === name;
  } catch (e) {
    if (e instanceof ConfigError && e.diagnostics.some((d) => d.code === "E1034")) return false;
    throw e;
  }
}

function assertAccepts(name: string): boolean {
  try {
    assertRunName(name);
    return true;
  } catch (e) {
    expect(e).toBeInstanceOf(DstackError);
    expect((e as DstackError).diagnostics[0].code).toBe("E5001");
    expect((e as DstackError).exitCode).toBe(ExitCode.Usage);
    return false;
  }
}

test("assertRunName accepts exactly the names a configuration accepts", () => {
  const config = candidates.map((n) => [n, configAccepts(n)]);
  const outside = candidates.map((n) => [n, assertAccepts(n)]);
  expect(outside).toEqual(config);
  // the sample has both kinds
  expect(config.filter(([, ok]) => ok).map(([n]) => n)).toEqual(["fast-moth-1", "ab", "train-llm", "a".repeat(41)]);
});
