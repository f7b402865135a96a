/**
 * `dstack audit` and the cost guard with the real engine, Docker and OpenSSH (local backend,
 * file:// state): an orphan container carrying dstack's labels is reported and `--prune -y`
 * removes it (and only it); a run whose container was removed from outside is a stale run;
 * `--max-cost` refuses an over-budget run with E6300 / exit 9 before anything exists, on a
 * local machine that config.yml prices. Orphans are narrowed with `--run` to this file's
 * names: the Docker engine is shared with other suites.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import Ajv from "ajv";
import { describeWhen } from "../support/requirements";
import { cleanup, docker, dstack, e2ePrerequisites, makeSandbox, ok, repoRoot, writeConfig, type Sandbox } from "./helpers";

jest.setTimeout(600_000);

const id = `${process.pid.toString(36)}${randomBytes(2).toString("hex")}`;
const orphanRun = `e2e-orphan-${id}`;
const orphanName = `dstack-${orphanRun}`;
const staleRun = `e2e-stale-${id}`;
const costRun = `e2e-cost-${id}`;

const auditSchema = JSON.parse(fs.readFileSync(path.join(repoRoot, "schemas", "audit.schema.json"), "utf8")) as object;
const validateAudit = new Ajv({ allErrors: true, strict: false }).compile(auditSchema);

function audit(sb: Sandbox, args: string[]): { runs: Record<string, unknown>[]; resources: Record<string, unknown>[]; orphans: Record<string, unknown>[]; stale_runs: Record<string, unknown>[]; pruned?: { removed: Record<string, unknown>[] } } {
  const doc = JSON.parse(ok(dstack(sb, ["audit", "--json", ...args]), `audit ${args.join(" ")}`)) as ReturnType<typeof audit>;
  expect({ valid: validateAudit(doc), errors: validateAudit.errors ?? null }).toEqual({ valid: true, errors: null });
  return doc;
}

describeWhen(e2ePrerequisites, "dstack audit and the cost guard (real engine, local backend)", () => {
  let sb: Sandbox;
  let baseImage: string;
  beforeAll(() => {
    sb = makeSandbox("audit");
    const { baseImageRef } = require(path.join(repoRoot, "dist", "src", "stacks", "base-image.js")) as { baseImageRef: () => string };
    baseImage = baseImageRef();
  });
  afterAll(() => {
    docker(["rm", "-f", orphanName]);
    dstack(sb, ["down", staleRun, "-y", "--purge"]);
    cleanup(sb, [orphanRun, staleRun, costRun]);
  });

  test("an orphan container with dstack's labels is reported; --prune -y removes it, and only it", () => {
    const urn = `urn:pulumi:${orphanRun}::dstack::pulumi-nodejs:dynamic/dstack:LocalContainer::container`;
    ok(docker(["run", "-d", "--name", orphanName, "--label", `dstack.run=${orphanRun}`, "--label", `dstack.urn=${urn}`, "--network", "host", "--entrypoint", "sleep", baseImage, "600"]), "docker run (the orphan)");
    const before = audit(sb, ["--run", orphanRun]);
    expect(before.resources).toEqual([]);
    expect(before.orphans).toEqual([expect.objectContaining({ kind: "container", name: orphanName, run: orphanRun, urn })]);
    expect(ok(dstack(sb, ["audit", "--run", orphanRun]), "audit (text)")).toMatch(new RegExp(`container\\s+${orphanName}\\s+${orphanRun}`));
    // without -y and without a terminal: refused, nothing removed
    const refused = dstack(sb, ["audit", "--prune", "--run", orphanRun]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("E6103");
    expect(docker(["inspect", orphanName]).status).toBe(0);
    const pruned = audit(sb, ["--prune", "-y", "--run", orphanRun]);
    expect(pruned.pruned?.removed).toEqual([expect.objectContaining({ kind: "container", name: orphanName })]);
    expect(docker(["inspect", orphanName]).status).not.toBe(0);
    expect(audit(sb, ["--run", orphanRun]).orphans).toEqual([]);
  });

  test("a run whose container was removed from outside is a stale run; its own container is not an orphan", () => {
    writeConfig(sb, `type: dev-environment\nname: ${staleRun}\nide: vscode\nresources:\n  disk: 1GB..\n`, "stale.dstack.yml");
    ok(dstack(sb, ["up", "-y", "-d", "-f", "stale.dstack.yml", "--ttl", "1h"]), "up");
    const live = audit(sb, ["--run", staleRun]);
    expect(live.orphans).toEqual([]);
    expect(live.stale_runs).toEqual([]);
    const container = live.resources.find((r) => String(r.type).endsWith(":LocalContainer"));
    expect(container).toMatchObject({ run: staleRun, price_per_hour: 0, cost_so_far: 0 });
    ok(docker(["rm", "-f", String(container!.provider_id)]), "docker rm (from outside)");
    const stale = audit(sb, ["--run", staleRun]);
    expect(stale.stale_runs).toEqual([{ name: staleRun, backend: "local", instance_id: container!.provider_id, reason: "its instance no longer exists" }]);
    expect(stale.runs[0]).toMatchObject({ name: staleRun, instance: "missing" });
  });

  test("--max-cost refuses an over-budget run: E6300, exit 9, nothing created; under budget the plan shows the projected cost", () => {
    fs.writeFileSync(path.join(sb.dstackHome, "config.yml"), "backends:\n  - type: local\n    price: 2\n");
    try {
      writeConfig(sb, `type: dev-environment\nname: ${costRun}\nide: vscode\nresources:\n  disk: 1GB..\n`, "cost.dstack.yml");
      const over = dstack(sb, ["up", "-y", "-f", "cost.dstack.yml", "--ttl", "2h", "--max-cost", "3"]);
      expect(over.status).toBe(9);
      expect(over.stderr).toContain(`error: ${costRun}: projected cost $4.00 ($2/h × 2h) is above max_cost $3.00; nothing was created [E6300]`);
      const json = dstack(sb, ["up", "-y", "--json", "-f", "cost.dstack.yml", "--ttl", "2h", "--max-cost", "3"]);
      expect(json.status).toBe(9);
      expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: "E6300", exit_code: 9 } });
      // no bound at all: refused too
      const unbounded = dstack(sb, ["up", "-y", "-f", "cost.dstack.yml", "--max-cost", "100"]);
      expect(unbounded.status).toBe(9);
      expect(unbounded.stderr).toContain("[E6301]");
      // nothing of the run exists: no stack, no key, no container
      expect((JSON.parse(ok(dstack(sb, ["ps", "-a", "--json"]), "ps")) as { name: string }[]).map((r) => r.name)).not.toContain(costRun);
      expect(fs.existsSync(path.join(sb.dstackHome, "ssh", "keys", costRun))).toBe(false);
      expect(docker(["inspect", `dstack-${costRun}`]).status).not.toBe(0);
      // a profile's max_cost does the same
      fs.mkdirSync(path.join(sb.project, ".dstack"), { recursive: true });
      fs.writeFileSync(path.join(sb.project, ".dstack", "profiles.yml"), "profiles:\n  - name: ci\n    default: true\n    max_cost: 1\n");
      const byProfile = dstack(sb, ["preview", "-f", "cost.dstack.yml", "--ttl", "1h"]);
      expect(byProfile.status).toBe(9);
      expect(byProfile.stderr).toContain("above max_cost $1.00");
      // within budget: the plan shows price and projected cost (preview changes nothing)
      const fine = ok(dstack(sb, ["preview", "-f", "cost.dstack.yml", "--ttl", "30m"]), "preview within budget");
      expect(fine).toMatch(/Price\s+\$2\.0\/h/);
      expect(fine).toMatch(/Projected cost\s+\$1\.00 \(\$2\.0\/h × 30m\), max cost \$1\.00/);
    } finally {
      fs.rmSync(path.join(sb.dstackHome, "config.yml"), { force: true });
      fs.rmSync(path.join(sb.project, ".dstack"), { recursive: true, force: true });
    }
  });
});
