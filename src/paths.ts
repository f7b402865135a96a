/**
 * Where things are: the package's own files (templates, catalogs, schemas) and the
 * files dstack writes, all under DSTACK_HOME (default ~/.dstack) so tests can relocate them.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

let cachedRoot: string | undefined;

/** The package's root folder (holding package.json), whether run from dist/ or from sources. */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, "package.json");
    if (fs.existsSync(candidate) && fs.existsSync(path.join(dir, "templates"))) return (cachedRoot = dir);
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the dstack package root above ${__dirname}`);
    dir = parent;
  }
}

export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
}

/** DSTACK_HOME, default ~/.dstack. Every file dstack writes lives below it. */
export function dstackHome(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.DSTACK_HOME || path.join(os.homedir(), ".dstack"));
}

export const homePaths = (env: NodeJS.ProcessEnv = process.env) => {
  const home = dstackHome(env);
  return {
    home,
    /** Pulumi DIY state backend (file://) */
    state: path.join(home, "state"),
    passphrase: path.join(home, "passphrase"),
    ssh: path.join(home, "ssh"),
    sshConfig: path.join(home, "ssh", "config"),
    knownHosts: path.join(home, "ssh", "known_hosts"),
    pulumiBin: path.join(home, "pulumi", "bin"),
    pulumiHome: path.join(home, "pulumi", "home"),
    cache: path.join(home, "cache"),
    config: path.join(home, "config.yml"),
    profiles: path.join(home, "profiles.yml"),
    images: path.join(home, "images"),
    /** Runs' logs (provisioning events, saved output): logs/<state id>/<run>.log */
    logs: path.join(home, "logs"),
  };
};

/**
 * The first executable file called `name` in env.PATH (what a shell would run), or undefined.
 * The one PATH lookup (the Pulumi toolchain looks for pulumi and go with it).
 */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      if (!fs.statSync(p).isFile()) continue;
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Writes `file` whole or not at all: the data goes to a temporary file beside it (with `mode`),
 * which is then renamed over it, so a concurrent reader (another dstack command) never sees a
 * half-written file. The one writer of files that several commands share.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    fs.writeFileSync(tmp, data, { mode });
    fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** `writeFileAtomic` unless `file` already holds `text`; whether it wrote. */
export function writeFileAtomicIfDifferent(file: string, text: string, mode = 0o644): boolean {
  try {
    if (fs.readFileSync(file, "utf8") === text) return false;
  } catch {
    // absent
  }
  writeFileAtomic(file, text, mode);
  return true;
}
