/**
 * What a suite needs from the machine (Docker, the Pulumi CLI, dist/, the shared real
 * configurations) and what happens when it is missing, in one place:
 *
 * - under CI (`CI=true` or `CI=1`) the suite FAILS: it is replaced by one failing test that names
 *   the missing requirement, so a CI run without Docker or Pulumi cannot go green by skipping
 *   its end-to-end tests;
 * - locally it is skipped, and one line on stderr says which suite and why.
 *
 * Usage: `describeWhen([dockerEngine, pulumiCli], "local program", () => { ... })` in place of
 * `(ready ? describe : describe.skip)(...)`, and `available(sharedConfigs, what)` inside a test
 * that only partly depends on a requirement.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface Requirement {
  /** What is needed, as a reader of the failure or skip line knows it, e.g. "a Docker engine". */
  name: string;
  /** Why it is missing here (with the fix), or null when it is present. Called at most once. */
  missing: () => string | null;
}

const repoRoot = path.resolve(__dirname, "..", "..");

/** A requirement whose check runs once, when a suite first asks. */
export function requirement(name: string, check: () => string | null): Requirement {
  let result: string | null | undefined;
  return {
    name,
    missing: () => {
      if (result === undefined) result = check();
      return result;
    },
  };
}

/** CI=true (or 1): every requirement of every suite must be met. */
export function underCI(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(true|1)$/i.test(env.CI ?? "");
}

/** A Docker engine socket: /var/run/docker.sock, or whatever DOCKER_HOST names. */
export const dockerEngine = requirement("a Docker engine", () =>
  fs.existsSync("/var/run/docker.sock") || process.env.DOCKER_HOST
    ? null
    : "no /var/run/docker.sock and no DOCKER_HOST (start dockerd, e.g. scripts/setup.sh as root)",
);

/** The Pulumi CLI: in DSTACK_HOME or ~/.dstack (`dstack setup` builds it there), or on PATH. */
export const pulumiCli = requirement("the Pulumi CLI", () => {
  const candidates = [
    path.join(process.env.DSTACK_HOME || path.join(os.homedir(), ".dstack"), "pulumi", "bin", "pulumi"),
    path.join(os.homedir(), ".dstack", "pulumi", "bin", "pulumi"),
    ...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean).map((d) => path.join(d, "pulumi")),
  ];
  return candidates.some((p) => fs.existsSync(p)) ? null : "no pulumi in DSTACK_HOME, ~/.dstack or on PATH (dstack setup)";
});

/** The Pulumi CLI `dstack setup` installs for the user, ~/.dstack/pulumi/bin/pulumi, specifically. */
export const setupPulumiCli = requirement("the Pulumi CLI in ~/.dstack/pulumi/bin", () => {
  const p = path.join(os.homedir(), ".dstack", "pulumi", "bin", "pulumi");
  return fs.existsSync(p) ? null : `no ${p} (dstack setup)`;
});

/** The built CLI, dist/cli.js (`npm test` builds it before jest). */
export const builtCli = requirement("the built CLI (dist/)", () =>
  fs.existsSync(path.join(repoRoot, "dist", "cli.js")) ? null : "dist/cli.js is not built (npm run build)",
);

/** dstack's provider plugin, bundled by `npm run build` (dist/bundle/pulumi-resource-dstack.js): the local backend's resources. */
export const builtPlugin = requirement("dstack's provider plugin (dist/bundle/)", () =>
  fs.existsSync(path.join(repoRoot, "dist", "bundle", "pulumi-resource-dstack.js")) ? null : "dist/bundle/pulumi-resource-dstack.js is not built (npm run build)",
);

/** The OpenSSH client. */
export const opensshClient = requirement("the OpenSSH client", () => (spawnSync("ssh", ["-V"]).status === 0 ? null : "no ssh on PATH"));

/**
 * A PostgreSQL server for the team-state tests (Pulumi's DIY postgres backend):
 * DSTACK_TEST_POSTGRES_URL, default the one `bash scripts/postgres.sh` (run by .ci/run) starts.
 */
export const postgresTestUrl = process.env.DSTACK_TEST_POSTGRES_URL || "postgres://dstack:dstack@127.0.0.1:5432/dstack_test?sslmode=disable";
export const postgresServer = requirement("a PostgreSQL server (scripts/postgres.sh)", () => {
  const probe = "const pg = require('pg'); const c = new pg.Client({ connectionString: process.argv[1], connectionTimeoutMillis: 5000 }); c.connect().then(() => c.query('select 1')).then(() => c.end(), (e) => { console.error(e.message); process.exit(1); });";
  const r = spawnSync(process.execPath, ["-e", probe, postgresTestUrl], { cwd: repoRoot, encoding: "utf8", timeout: 15_000 });
  return r.status === 0 ? null : `${postgresTestUrl.replace(/:[^:@/]*@/, ":****@")} does not answer (${(r.stderr || "timeout").trim().split("\n")[0]}): bash scripts/postgres.sh`;
});

/** The real dstack configurations, read in place from ../shared/dstack-configs (never copied). */
export const sharedConfigsDir = path.join(repoRoot, "..", "shared", "dstack-configs");
export const sharedConfigs = requirement("the real configurations (../shared/dstack-configs)", () =>
  fs.existsSync(sharedConfigsDir) ? null : `${sharedConfigsDir} does not exist`,
);
/** Their profiles, ../shared/dstack-configs/profiles/*.yml. */
export const sharedProfiles = requirement("the real profiles (../shared/dstack-configs/profiles)", () => {
  const dir = path.join(sharedConfigsDir, "profiles");
  if (!fs.existsSync(dir)) return `${dir} does not exist`;
  return fs.readdirSync(dir).some((f) => f.endsWith(".yml")) ? null : `${dir} holds no *.yml`;
});

export interface Missing {
  name: string;
  why: string;
}

/** The requirements of `list` that are missing here, each with why. */
export function missingRequirements(list: Requirement | Requirement[]): Missing[] {
  return (Array.isArray(list) ? list : [list]).flatMap((r) => {
    const why = r.missing();
    return why === null ? [] : [{ name: r.name, why }];
  });
}

function testFile(): string {
  const p = expect.getState().testPath;
  return p ? path.relative(repoRoot, p) : "a test file";
}

const listed = (missing: Missing[]) => missing.map((m) => `${m.name} (${m.why})`).join("; ");

export function skipLine(what: string, missing: Missing[]): string {
  return `skipping ${JSON.stringify(what)} in ${testFile()}: missing ${listed(missing)}\n`;
}

export function ciMessage(what: string, missing: Missing[]): string {
  return `${JSON.stringify(what)} cannot run under CI=true, where no suite skips itself: missing ${listed(missing)}`;
}

/** What a suite does about its requirements here: run, fail (under CI), or skip (locally). */
export type Decision = { kind: "run" } | { kind: "fail"; test: string; message: string } | { kind: "skip"; line: string };

export function decide(list: Requirement | Requirement[], what: string, env: NodeJS.ProcessEnv = process.env): Decision {
  const missing = missingRequirements(list);
  if (missing.length === 0) return { kind: "run" };
  if (underCI(env)) return { kind: "fail", test: `requires ${missing.map((m) => m.name).join(", ")}`, message: ciMessage(what, missing) };
  return { kind: "skip", line: skipLine(what, missing) };
}

/**
 * `describe(title, fn)` when every requirement is met. Otherwise, under CI a suite of one
 * failing test that names what is missing; locally `describe.skip` and one line on stderr.
 */
export function describeWhen(list: Requirement | Requirement[], title: string, fn: () => void, env: NodeJS.ProcessEnv = process.env): void {
  const d = decide(list, title, env);
  if (d.kind === "run") {
    describe(title, fn);
  } else if (d.kind === "fail") {
    describe(title, () => {
      test(d.test, () => {
        throw new Error(d.message);
      });
    });
  } else {
    process.stderr.write(d.line);
    describe.skip(title, fn);
  }
}

/**
 * For a test that checks more than the requirement: true when the requirement is met. When it
 * is not, under CI it throws (failing the test, naming what is missing); locally it writes the
 * skip line and returns false, and the test goes on without the part that needs it.
 */
export function available(list: Requirement | Requirement[], what: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const d = decide(list, what, env);
  if (d.kind === "fail") throw new Error(d.message);
  if (d.kind === "skip") process.stderr.write(d.line);
  return d.kind === "run";
}
