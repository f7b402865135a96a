/**
 * What this host knows about a process id, for judging a lock's holder: whether it still
 * exists, when it started (to tell a reused pid from the lock's own process) and what it runs.
 *
 * Linux: read from /proc. Elsewhere only "alive" is known (`kill(pid, 0)`).
 */
import * as fs from "fs";
import * as os from "os";

export interface ProcessFacts {
  alive: boolean;
  /** Start time (ms since the epoch, ±1 s), when /proc tells it. */
  startedAtMs?: number;
  /** The command line (argv), when /proc tells it. */
  argv?: string[];
  /** The parent's pid, when /proc tells it. */
  ppid?: number;
}

/**
 * Linux reports a process's start in clock ticks since boot, in units of USER_HZ, which is 100
 * on every architecture Node runs on (it is part of the kernel's ABI, independent of CONFIG_HZ).
 */
const USER_HZ = 100;

let bootTimeMs: number | null | undefined;

function bootTime(): number | null {
  if (bootTimeMs === undefined) {
    try {
      const m = /^btime (\d+)$/m.exec(fs.readFileSync("/proc/stat", "utf8"));
      bootTimeMs = m ? Number(m[1]) * 1000 : null;
    } catch {
      bootTimeMs = null;
    }
  }
  return bootTimeMs;
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses): state is [0], ppid [1], session [3], starttime [19]. */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).trim().split(/\s+/);
}

/** Facts about a pid on this host. */
export function processFacts(pid: number): ProcessFacts {
  if (!Number.isInteger(pid) || pid <= 0) return { alive: false };
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && fs.existsSync("/proc/self/stat")) return { alive: false };
    return { alive: signalable(pid) };
  }
  const f = statFields(stat);
  if (f[0] === "Z" || f[0] === "X") return { alive: false }; // exited, not yet reaped
  const boot = bootTime();
  const ticks = Number(f[19]);
  const out: ProcessFacts = { alive: true, ppid: Number(f[1]) };
  if (boot !== null && Number.isFinite(ticks)) out.startedAtMs = boot + (ticks * 1000) / USER_HZ;
  try {
    out.argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a, i, all) => a !== "" || i < all.length - 1);
  } catch {
    // another user's process: no command line
  }
  return out;
}

function signalable(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** `dstack …` from a command line that runs dstack (`node …/bin/dstack up -y`), else null (pure). */
export function dstackCommandOf(argv: string[]): string | null {
  const i = argv.findIndex((a) => /(^|\/)dstack(\.js)?$/.test(a) || /(^|\/)dist\/cli\.js$/.test(a));
  return i < 0 ? null : ["dstack", ...argv.slice(i + 1)].join(" ");
}

/**
 * What a live process on this host is doing, for an error message: the `dstack …` command
 * among it and its ancestors (the engine runs below dstack), else its own command line.
 */
export function describeProcess(pid: number, facts: ProcessFacts = processFacts(pid)): string | undefined {
  let cur: ProcessFacts | undefined = facts;
  for (let depth = 0; cur?.alive && depth < 6; depth++) {
    const cmd = cur.argv ? dstackCommandOf(cur.argv) : null;
    if (cmd) return cmd;
    if (!cur.ppid || cur.ppid <= 1) break;
    cur = processFacts(cur.ppid);
  }
  return facts.argv?.length ? facts.argv.join(" ") : undefined;
}

/** This host's name as Pulumi records it in its locks (Go's os.Hostname is the kernel's hostname). */
export function localHostname(): string {
  return os.hostname();
}
