/**
 * `dstack doctor [--json]`: checks each prerequisite of local runs and says what is missing
 * and the command that fixes it: Node, the Pulumi CLI version, the nodejs plugin, Docker
 * reachable, the base image, the state backend writable, the ssh client. Changes nothing.
 * Exit code 0 when everything is there, 5 (prerequisite missing) otherwise.
 * `--json`: `{"ok": bool, "checks": [{"name", "ok", "detail", "fix"}]}`.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { Command } from "commander";
import { ExitCode } from "../diagnostics";
import { homePaths } from "../paths";

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** The command (or action) that fixes it; null when ok. */
  fix: string | null;
}

function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: 10000 }, (err, stdout, stderr) => resolve({ ok: !err, out: `${stdout}${stderr}`.trim() })),
  );
}

function checkNode(): DoctorCheck {
  const major = Number(process.versions.node.split(".")[0]);
  return { name: "node", ok: major >= 20, detail: `Node ${process.version}`, fix: major >= 20 ? null : "install Node.js 20 or newer" };
}

async function checkPulumi(env: NodeJS.ProcessEnv): Promise<DoctorCheck[]> {
  const tc = await import("../stacks/toolchain");
  const found = await tc.findPulumiCandidates(env, { fresh: true });
  const usable = found.find((c) => c.ok);
  const pulumi: DoctorCheck = usable
    ? { name: "pulumi", ok: true, detail: `v${usable.version} at ${usable.binary}`, fix: null }
    : {
        name: "pulumi",
        ok: false,
        detail: found.length
          ? `found ${found.map((c) => `${c.binary} (${c.version ? "v" + c.version : "does not run"})`).join(", ")}; need ≥ v${tc.PINNED_PULUMI_VERSION}`
          : `no Pulumi CLI (need ≥ v${tc.PINNED_PULUMI_VERSION})`,
        fix: "dstack setup",
      };
  const dirs = [usable ? path.dirname(usable.binary) : null, homePaths(env).pulumiBin].filter((d): d is string => Boolean(d));
  let pluginOk = false;
  let where = "";
  for (const d of dirs) {
    const p = path.join(d, tc.NODEJS_PLUGIN);
    try {
      if (fs.readFileSync(p, "utf8") === tc.expectedNodejsPlugin(d)) {
        pluginOk = true;
        where = p;
        break;
      }
      where = `${p} (out of date)`;
    } catch {
      // absent
    }
  }
  const plugin: DoctorCheck = {
    name: "nodejs-plugin",
    ok: pluginOk,
    detail: pluginOk ? where : where || `${tc.NODEJS_PLUGIN} not in ${dirs.join(" or ")}`,
    fix: pluginOk ? null : "dstack setup",
  };
  return [pulumi, plugin];
}

async function checkDocker(): Promise<DoctorCheck[]> {
  const { dockerClient, dockerEndpoint } = await import("../stacks/docker");
  let docker: import("dockerode");
  try {
    docker = await dockerClient(process.env, 3000);
  } catch (e) {
    return [
      { name: "docker", ok: false, detail: (e as Error).message, fix: "start dockerd (as root: dockerd --bridge=none --iptables=false &, or scripts/setup.sh) or set DOCKER_HOST" },
      { name: "base-image", ok: false, detail: "not checked: no Docker engine", fix: "dstack setup (after starting Docker)" },
    ];
  }
  const v = (await docker.version()) as { Version?: string; ApiVersion?: string };
  const { baseImageInfo } = await import("../stacks/base-image");
  const base = await baseImageInfo(docker);
  const debootstrap = base.present ? null : (await run("sh", ["-c", "command -v debootstrap"])).ok;
  return [
    { name: "docker", ok: true, detail: `Docker ${v.Version} (API ${v.ApiVersion}) at ${dockerEndpoint()}`, fix: null },
    base.present
      ? { name: "base-image", ok: true, detail: `${base.ref} (python ${base.python.join(", ") || "?"})`, fix: null }
      : { name: "base-image", ok: false, detail: `${base.ref} not built`, fix: debootstrap ? "dstack setup" : "apt-get install debootstrap && dstack setup" },
  ];
}

function checkState(env: NodeJS.ProcessEnv): DoctorCheck {
  const url = env.DSTACK_STATE_URL;
  if (url && !url.startsWith("file://")) {
    return { name: "state", ok: true, detail: `remote backend ${url.replace(/\/\/[^@/]*@/, "//***@")} (not probed)`, fix: null };
  }
  const dir = url ? url.slice("file://".length) : homePaths(env).state;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const probe = path.join(dir, `.doctor-${process.pid}`);
    fs.writeFileSync(probe, "ok");
    fs.rmSync(probe);
    return { name: "state", ok: true, detail: `file://${dir} writable`, fix: null };
  } catch (e) {
    return { name: "state", ok: false, detail: `file://${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, fix: `make ${dir} writable, or set DSTACK_HOME / DSTACK_STATE_URL` };
  }
}

/** A PostgreSQL state backend (a team's): connected to, or null for any other backend. */
async function checkPostgresState(env: NodeJS.ProcessEnv): Promise<DoctorCheck | null> {
  const url = env.DSTACK_STATE_URL;
  if (!url || !/^postgres:\/\//i.test(url)) return null;
  const { postgresBackend, redactUrl, withPostgres } = await import("../stacks/postgres-state");
  try {
    const pg = postgresBackend(url)!;
    const version = await withPostgres(pg, async (c) => (await c.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]?.v);
    return { name: "state", ok: true, detail: `${redactUrl(url)} (PostgreSQL ${version}, table ${pg.table})`, fix: null };
  } catch (e) {
    return { name: "state", ok: false, detail: (e as Error).message, fix: "check DSTACK_STATE_URL and that the server runs (docs/audit.md)" };
  }
}

async function checkSsh(): Promise<DoctorCheck> {
  const r = await run("ssh", ["-V"]);
  return r.ok
    ? { name: "ssh", ok: true, detail: r.out.split("\n")[0], fix: null }
    : { name: "ssh", ok: false, detail: "no ssh client on PATH", fix: "apt-get install openssh-client" };
}

export async function runDoctor(env: NodeJS.ProcessEnv = process.env): Promise<DoctorCheck[]> {
  const [pulumi, docker, ssh, postgres] = await Promise.all([checkPulumi(env), checkDocker(), checkSsh(), checkPostgresState(env)]);
  return [checkNode(), ...pulumi, ...docker, postgres ?? checkState(env), ssh];
}

export function register(program: Command): void {
  program
    .command("doctor")
    .description("Check the prerequisites of local runs and print what is missing with the command that fixes it")
    .option("--json", "print the checks as JSON")
    .action(async (opts: { json?: boolean }) => {
      const checks = await runDoctor();
      const ok = checks.every((c) => c.ok);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ ok, checks }, null, 2) + "\n");
      } else {
        const w = Math.max(...checks.map((c) => c.name.length));
        const lines = checks.map((c) => `${c.ok ? "ok     " : "MISSING"}  ${c.name.padEnd(w)}  ${c.detail}${c.fix ? `\n         ${" ".repeat(w)}  fix: ${c.fix}` : ""}`);
        process.stdout.write(lines.join("\n") + "\n" + (ok ? "Everything is ready.\n" : "Some prerequisites are missing (fixes above).\n"));
      }
      if (!ok) process.exitCode = ExitCode.Prerequisite;
    });
}
