/**
 * The run flags shared by `dstack up`, `offer`, `preview`, `compile` and `config`, and what a
 * command's `[DIR]` and options ask to load. Pure, and loaded when the commands are registered,
 * so it must not import src/config (and `yaml`): run-spec.ts loads the RunSpec, inside actions.
 *
 *   addRunFlags(cmd)                      adds -f/--file, --profile/--no-profile, resources, …
 *   runInputFromCommand(dir, cmd.opts())  -> LoadOptions (what `prepareRun` in src/runs loads)
 *
 * commander's negations: `--profile NAME` and `--no-profile` are declared in that order, so
 * `opts.profile` is `undefined` (neither), a string (`--profile NAME`) or `false`
 * (`--no-profile`); likewise `opts.retry` is `undefined`, `true` or `false`.
 */
import type { Command } from "commander";
import { ConfigError, type Diagnostic } from "../diagnostics";
import type { LoadOptions } from "../config";
import type { RunFlags } from "../config/flags";

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Adds the flags that say which configuration and profile to load (`-f`, `--profile`, `--no-profile`). */
export function addSourceFlags(cmd: Command): Command {
  return cmd
    .option("-f, --file <FILE>", "the configuration file (default: the one *.dstack.yml in DIR)")
    .option("--profile <NAME>", "the profile from .dstack/profiles.yml (or ~/.dstack/profiles.yml) to apply")
    .option("--no-profile", "apply no profile, not even the default one");
}

/**
 * The flags of `dstack build`: only those that change what is built. A prebuilt image depends
 * on the configuration's image, `build:`, python and nvcc (src/compiler/plan.ts
 * prebuiltImageHash), none of which a resource, offer, spot, retry, duration, env or name flag
 * sets, so `build` offers only the source flags.
 */
export function addBuildFlags(cmd: Command): Command {
  // -e stays: a configuration's `env: [KEY]` without a value needs one to load at all (E1041)
  return addSourceFlags(cmd).option("-e, --env <KEY[=VALUE]>", "set an environment variable; KEY alone takes your value (repeatable)", collect);
}

/** Adds the shared run flags to a command (the `[DIR]` argument is the command's own). */
export function addRunFlags(cmd: Command): Command {
  return addSourceFlags(cmd)
    .option("--gpu <SPEC>", "GPU requirements, replacing resources.gpu (e.g. A100:80GB:2, 24GB.., H100:1..8)")
    .option("--cpu <SPEC>", "CPU requirements, replacing resources.cpu (e.g. 4.., x86:8)")
    .option("--memory <SIZE>", "memory requirements, replacing resources.memory (e.g. 16GB..)")
    .option("--disk <SIZE>", "disk requirements, replacing resources.disk (e.g. 100GB..)")
    .option("--max-price <USD>", "the maximum price per hour")
    .option("--max-duration <DURATION>", "stop the run after this long (e.g. 2h, 1d, or off)")
    .option("--ttl <DURATION>", "the same as --max-duration, for throwaway (CI) environments (e.g. 2h)")
    .option("--max-cost <USD>", "refuse the run if its projected cost (price per hour × max duration) is above this")
    .option("--spot", "use spot instances only (spot_policy: spot)")
    .option("--on-demand", "use on-demand instances only (spot_policy: on-demand)")
    .option("--spot-auto", "use spot when available, else on-demand (spot_policy: auto)")
    .option("--spot-policy <POLICY>", "spot, on-demand or auto")
    .option("--retry", "retry on no capacity, interruption and error")
    .option("--no-retry", "do not retry")
    .option("--retry-duration <DURATION>", "retry for up to this long (implies --retry)")
    .option("-b, --backend <NAME>", "consider this backend (repeatable)", collect)
    .option("-r, --region <NAME>", "consider this region (repeatable)", collect)
    .option("--instance-type <NAME>", "consider this instance type (repeatable)", collect)
    .option("-e, --env <KEY[=VALUE]>", "set an environment variable; KEY alone takes your value (repeatable)", collect)
    .option("-n, --name <NAME>", "the run name")
    .option("--build", "build the prebuilt image (build:) if it is missing, else reuse it")
    .option("--force-build", "build the prebuilt image (build:) again even if it exists");
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const list = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : undefined);

/** Maps commander options (as added by `addRunFlags`) to RunFlags, checking the spot flags agree. */
export function runFlagsFromOptions(opts: Record<string, unknown>): RunFlags {
  const spot: [string, string][] = [];
  if (opts.spot === true) spot.push(["--spot", "spot"]);
  if (opts.onDemand === true) spot.push(["--on-demand", "on-demand"]);
  if (opts.spotAuto === true) spot.push(["--spot-auto", "auto"]);
  if (typeof opts.spotPolicy === "string") spot.push([`--spot-policy ${opts.spotPolicy}`, opts.spotPolicy]);
  const policies = [...new Set(spot.map(([, p]) => p))];
  if (policies.length > 1) {
    const d: Diagnostic = { code: "E1090", severity: "error", message: `conflicting spot flags: ${spot.map(([f]) => f).join(", ")}`, hint: "give one of --spot, --on-demand, --spot-auto, --spot-policy" };
    throw new ConfigError(d);
  }
  const flags: RunFlags = {};
  const set = <K extends keyof RunFlags>(k: K, v: RunFlags[K] | undefined) => {
    if (v !== undefined) flags[k] = v;
  };
  set("name", str(opts.name));
  set("gpu", str(opts.gpu));
  set("cpu", str(opts.cpu));
  set("memory", str(opts.memory));
  set("disk", str(opts.disk));
  set("max_price", str(opts.maxPrice));
  set("max_cost", str(opts.maxCost));
  set("max_duration", maxDurationOf(opts));
  set("spot_policy", policies[0]);
  set("retry", typeof opts.retry === "boolean" ? opts.retry : undefined);
  set("retry_duration", str(opts.retryDuration));
  set("backends", list(opts.backend));
  set("regions", list(opts.region));
  set("instance_types", list(opts.instanceType));
  set("env", list(opts.env));
  set("build", opts.build === true ? true : undefined);
  set("force_build", opts.forceBuild === true ? true : undefined);
  return flags;
}

/** `--max-duration` or its synonym `--ttl` (E1090 when both are given and differ). */
function maxDurationOf(opts: Record<string, unknown>): string | undefined {
  const d = str(opts.maxDuration);
  const ttl = str(opts.ttl);
  if (d !== undefined && ttl !== undefined && d.trim() !== ttl.trim()) {
    throw new ConfigError({ code: "E1090", severity: "error", message: `--ttl ${ttl} and --max-duration ${d} contradict each other`, hint: "--ttl is --max-duration: give one of them" });
  }
  return d ?? ttl;
}

/** `profile` option: `false` (--no-profile) -> null, a name -> the name, absent -> undefined. */
export function profileFromOptions(opts: Record<string, unknown>): string | null | undefined {
  if (opts.profile === false) return null;
  return typeof opts.profile === "string" ? opts.profile : undefined;
}

/** What to load for a command's `[DIR]` and its options (throws ConfigError on conflicting flags). */
export function runInputFromCommand(dir: string | undefined, opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): LoadOptions {
  return { dir, file: str(opts.file), profile: profileFromOptions(opts), flags: runFlagsFromOptions(opts), env };
}

