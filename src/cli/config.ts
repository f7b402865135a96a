/**
 * `dstack config [DIR] [-f FILE] [run flags] [--json]`: load, validate, merge and normalize a
 * configuration, and print the result: the RunSpec (docs/runspec.md) with --json, else a
 * readable summary. Volume configurations print their VolumeSpec. Nothing is changed.
 */
import type { Command } from "commander";
import * as path from "path";
import type { RunSpec, VolumeSpec } from "../config/runspec";
import { addRunFlags, runInputFromCommand } from "./run-flags";

function rangeText(r: { min: number | null; max: number | null } | null, unit = ""): string {
  if (!r) return "-";
  const f = (n: number | null) => (n === null ? "" : `${n}${unit}`);
  if (r.min !== null && r.min === r.max) return f(r.min);
  return `${f(r.min)}..${f(r.max)}`;
}

function durationText(s: number | null): string {
  if (s === null) return "off";
  for (const [u, n] of [["w", 604800], ["d", 86400], ["h", 3600], ["m", 60]] as const) if (s >= n && s % n === 0) return `${s / n}${u}`;
  return `${s}s`;
}

/** The readable summary of a RunSpec (what `dstack config` prints without --json). */
export function summarizeRunSpec(spec: RunSpec, cwd = process.cwd()): string {
  const shown = (p: string) => {
    const rel = path.relative(cwd, p);
    return rel === "" ? "." : rel.startsWith("..") ? p : rel;
  };
  const r = spec.resources;
  const g = r.gpu;
  const unconstrained = !g.vendor && !g.name && !g.memory && !g.total_memory && !g.compute_capability;
  const gpu =
    g.count.max === 0
      ? "none"
      : unconstrained && g.count.min === 0
        ? "not required (0..)"
        : (unconstrained ? "any:" : "") +
          [g.vendor, g.name?.join(","), g.memory ? rangeText(g.memory, "GB") : null, rangeText(g.count)].filter(Boolean).join(":") +
        (g.total_memory ? ` total ${rangeText(g.total_memory, "GB")}` : "") +
        (g.compute_capability ? ` cc ${g.compute_capability.join(".")}` : "");
  const src = (key: string) => {
    const s = spec.profile.sources[key];
    return s && s !== "default" ? `  (${s})` : "";
  };
  const rows: [string, string][] = [
    ["Configuration", shown(spec.configuration_path)],
    ["Type", spec.type],
    ["Name", spec.name + (spec.name_generated ? "  (generated)" : "")],
    ["Working dir", `${shown(spec.repo_dir)} -> ${spec.working_dir}`],
    ["Image", spec.image ?? (spec.docker ? "(docker-in-docker)" : `(base) python ${spec.python}${spec.nvcc ? " + nvcc" : ""}`)],
  ];
  if (spec.type === "dev-environment") rows.push(["IDE", spec.ide ?? "none (SSH only)"]);
  if (spec.type === "task") rows.push(["Commands", String(spec.commands.length)], ["Nodes", String(spec.nodes)]);
  rows.push(
    ["CPU", `${spec.resources.cpu.arch ? `${spec.resources.cpu.arch}:` : ""}${rangeText(r.cpu.count)}${src("resources.cpu")}`],
    ["Memory", `${rangeText(r.memory, "GB")}${src("resources.memory")}`],
    ["GPU", `${gpu}${src("resources.gpu")}`],
    ["Disk", `${r.disk ? rangeText(r.disk.size, "GB") : "-"}${src("resources.disk")}`],
  );
  if (r.shm_size !== null) rows.push(["Shared memory", `${r.shm_size}GB${src("resources.shm_size")}`]);
  rows.push(
    ["Spot policy", `${spec.spot_policy}${src("spot_policy")}`],
    ["Retry", `${spec.retry.enabled ? `${spec.retry.on_events.join(", ")} for ${durationText(spec.retry.duration)}` : "off"}${src("retry")}`],
    ["Max duration", `${durationText(spec.max_duration)}${src("max_duration")}`],
    ["Max price", `${spec.max_price === null ? "-" : `$${spec.max_price}`}${src("max_price")}`],
  );
  if (spec.backends) rows.push(["Backends", `${spec.backends.join(", ")}${src("backends")}`]);
  if (spec.regions) rows.push(["Regions", `${spec.regions.join(", ")}${src("regions")}`]);
  if (spec.instance_types) rows.push(["Instance types", `${spec.instance_types.join(", ")}${src("instance_types")}`]);
  rows.push(["Profile", spec.profile.name ? `${spec.profile.name} (${spec.profile.path ? shown(spec.profile.path) : "?"})` : "none"]);
  const envKeys = Object.keys(spec.env);
  if (envKeys.length) rows.push(["Env", envKeys.map((k) => (spec.secret_env.includes(k) ? `${k}=***` : `${k}=${spec.env[k]}`)).join(" ")]);
  if (spec.ports.length) rows.push(["Ports", spec.ports.map((p) => (p.local_port === p.container_port ? String(p.container_port) : `${p.local_port || "*"}:${p.container_port}`)).join(", ")]);
  if (spec.volumes.length) rows.push(["Volumes", spec.volumes.map((v) => (v.kind === "volume" ? `${v.name.join("|")}:${v.path}` : `${v.instance_path}:${v.path}${v.optional ? " (optional)" : ""}`)).join(", ")]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const out = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  if (spec.unsupported.length) {
    out.push("", "Not supported yet (dstack up reports these):");
    for (const u of spec.unsupported) out.push(`  ${u.property}${u.line ? ` (line ${u.line})` : ""}${u.reason ? `: ${u.reason}` : ""}`);
  }
  return out.join("\n") + "\n";
}

function summarizeVolume(v: VolumeSpec): string {
  const rows = [["Type", "volume"], ["Name", v.name], ["Backend", v.backend], ["Region", v.region ?? "-"], ["Size", v.size === null ? "-" : `${v.size}GB`], ["Volume id", v.volume_id ?? "-"]];
  return rows.map(([k, x]) => `${k!.padEnd(9)}  ${x}`).join("\n") + "\n";
}

/** The RunSpec with secret values replaced by `***`: registry_auth.password and the env values listed in secret_env. */
export function maskSecrets(spec: RunSpec): RunSpec {
  const env = { ...spec.env };
  for (const k of spec.secret_env) if (k in env) env[k] = "***";
  return { ...spec, env, registry_auth: spec.registry_auth ? { username: spec.registry_auth.username, password: "***" } : null };
}

export function register(program: Command): void {
  const cmd = program
    .command("config")
    .description("Validate a configuration and print the merged, normalized RunSpec (nothing is changed)")
    .argument("[DIR]", "the working directory (default: the current one)");
  addRunFlags(cmd);
  cmd
    .option("--json", "print the RunSpec as JSON")
    .option("--show-secrets", "print secret values (registry_auth.password, env values from your environment or -e) instead of ***")
    .action(async (dir: string | undefined, opts: Record<string, unknown>) => {
      const { loadConfiguration } = await import("../config");
      const spec = loadConfiguration(runInputFromCommand(dir, opts));
      if (opts.json) {
        const printable = spec.type === "volume" || opts.showSecrets ? spec : maskSecrets(spec);
        process.stdout.write(JSON.stringify(printable, null, 2) + "\n");
      } else {
        process.stdout.write(spec.type === "volume" ? summarizeVolume(spec) : summarizeRunSpec(spec));
      }
    });
}
