/**
 * bench/reconcile: how fast the reconcile step acts with no CLI running — the time from a
 * deadline to the teardown: a dev environment with `max_duration: 15s` started with
 * `dstack up -y --detach` (the real engine, Docker, the detached agent), then no command: when
 * its container is gone, and when its record says `terminated`, both measured from the record's
 * `expires_at`. What the lazy reconcile adds to `dstack ps` with 100 runs is bench/ps.
 *
 *   npm run build && node dist/bench/reconcile.js [rounds]
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { packageRoot } from "../src/paths";
import * as ws from "../src/stacks/workspace";

const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(62)} ${value}\n`);
const tag = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
const cli = path.join(packageRoot(), "bin", "dstack");

function run(args: string[], env: NodeJS.ProcessEnv, cwd?: string): { ms: number; stdout: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: "utf8", cwd });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`dstack ${args.join(" ")} exited ${r.status}\n${r.stderr}`);
  return { ms, stdout: r.stdout };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function deadlineToTeardown(root: string, base: NodeJS.ProcessEnv): Promise<void> {
  const home = path.join(root, "md");
  const project = path.join(root, "project");
  fs.mkdirSync(project, { recursive: true });
  const env = { ...base, DSTACK_HOME: home, HOME: path.join(root, "user") };
  fs.mkdirSync(env.HOME, { recursive: true });
  const name = `bench-${tag}-md`;
  fs.writeFileSync(path.join(project, ".dstack.yml"), `type: dev-environment\nname: ${name}\nide: vscode\nmax_duration: 15s\nresources:\n  disk: 1GB..\n`);
  const container = `dstack-${name}`;
  try {
    const up = run(["up", "-y", "--detach", "--no-ssh-config"], env, project);
    line("dstack up -y --detach (max_duration: 15s)", `${(up.ms / 1000).toFixed(1)} s`);
    const views = JSON.parse(run(["ps", "-a", "--json"], env).stdout) as { name: string; expires_at: string | null }[];
    const deadline = Date.parse(views.find((v) => v.name === name)?.expires_at ?? "");
    let gone: number | null = null;
    let terminated: number | null = null;
    const stateTags = path.join(ws.diyStacksDir(env) as string, `${name}.pulumi-tags`);
    for (const until = Date.now() + 180_000; Date.now() < until && (gone === null || terminated === null); await sleep(250)) {
      if (gone === null && spawnSync("docker", ["inspect", container]).status !== 0) gone = Date.now();
      if (terminated === null && fs.existsSync(stateTags) && fs.readFileSync(stateTags, "utf8").includes("terminated")) terminated = Date.now();
    }
    line("deadline (expires_at) → container gone (the agent, no CLI)", gone === null ? "not within 180 s" : `${((gone - deadline) / 1000).toFixed(1)} s`);
    line("deadline (expires_at) → record terminated", terminated === null ? "not within 180 s" : `${((terminated - deadline) / 1000).toFixed(1)} s`);
  } finally {
    spawnSync("docker", ["rm", "-f", container], { encoding: "utf8" });
  }
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-bench-reconcile-"));
  const base: NodeJS.ProcessEnv = { ...process.env, CI: "true" };
  delete base.DSTACK_STATE_URL;
  try {
    line("load average at the start", os.loadavg().map((x) => x.toFixed(1)).join(" "));
    await deadlineToTeardown(root, base);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(String((e as Error).stack ?? e) + "\n");
  process.exit(1);
});
