/**
 * Concurrent commands with the real engine (local backend, file:// state): two `up -y` of one
 * run at once — exactly one succeeds, the other exits 8 (E4504 "being updated"); three
 * different runs at once all succeed. DSTACK_SOAK_ROUNDS sets the rounds (3 here, 10+ in a soak).
 */
import * as fs from "fs";
import { describeWhen } from "../support/requirements";
import { cleanup, dstack, dstackAsync, e2ePrerequisites, makeSandbox, ok, testId, writeConfig, type Sandbox } from "./helpers";


const ROUNDS = Math.max(1, Number(process.env.DSTACK_SOAK_ROUNDS ?? 3) || 3);
jest.setTimeout(300_000 * ROUNDS);

const id = testId();
const same = `e2e-same-${id}`;
const many = [0, 1, 2].map((i) => `e2e-par${i}-${id}`);
const config = (name: string) => `type: dev-environment\nname: ${name}\nide: vscode\nresources:\n  disk: 1GB..\n`;

function upAsync(sb: Sandbox, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = dstackAsync(sb, ["up", "-y", "-d", ...args]);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

describeWhen(e2ePrerequisites, "concurrent commands (real engine)", () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox("concurrency");
    writeConfig(sb, config(same));
    many.forEach((n, i) => writeConfig(sb, config(n), `par${i}.dstack.yml`));
  });
  afterAll(() => cleanup(sb, [same, ...many]));

  test(`${ROUNDS} rounds of two simultaneous up of one new run: one succeeds, the other exits 8 (E4504)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.all([upAsync(sb, ["-f", ".dstack.yml"]), upAsync(sb, ["-f", ".dstack.yml"])]);
      const codes = results.map((r) => r.code).sort();
      const detail = results.map((r) => `exit ${r.code}\n${r.stderr}`).join("\n---\n");
      expect({ round, codes, detail: codes.join() === "0,8" ? "" : detail }).toEqual({ round, codes: [0, 8], detail: "" });
      const loser = results.find((r) => r.code === 8)!;
      expect(loser.stderr).toMatch(new RegExp(`error: run ${same} is being updated by pid \\d+ on host \\S+ since \\S+ \\(dstack up\\) \\[E4504\\]`));
      ok(dstack(sb, ["down", same, "-y"]), `round ${round}: dstack down`);
    }
  });

  test(`${ROUNDS} rounds of three different runs at once: all succeed`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.all(many.map((_, i) => upAsync(sb, ["-f", `par${i}.dstack.yml`])));
      const failed = results.filter((r) => r.code !== 0).map((r) => `exit ${r.code}\n${r.stderr}`);
      expect({ round, failed }).toEqual({ round, failed: [] });
      const downs = await Promise.all(
        many.map(
          (n) =>
            new Promise<{ code: number | null; stderr: string }>((resolve) => {
              const c = dstackAsync(sb, ["down", n, "-y"]);
              let stderr = "";
              c.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
              c.on("close", (code) => resolve({ code, stderr }));
            }),
        ),
      );
      expect({ round, failed: downs.filter((d) => d.code !== 0) }).toEqual({ round, failed: [] });
    }
    // the shared Pulumi.yaml is intact and no temporary file was left beside it
    const workspaces = `${sb.dstackHome}/workspaces`;
    for (const w of fs.readdirSync(workspaces)) {
      expect(fs.readFileSync(`${workspaces}/${w}/Pulumi.yaml`, "utf8")).toMatch(/^name: dstack\nruntime: nodejs\nbackend:\n {2}url: "file:\/\/.+"\n$/);
      expect(fs.readdirSync(`${workspaces}/${w}`).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    }
  });
});
