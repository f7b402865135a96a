/**
 * `dstack compile [DIR|-f FILE] [run flags] [--backend aws|gcp|azure|local] [--offer N] [--json]`:
 * compiles the configuration for the N-th cheapest offer (default 1) on a backend with a
 * program, runs that program under Pulumi's mock engine and prints the resource graph — no
 * provider plugin, no credentials, no network. What infra teams review before anything is
 * provisioned.
 *
 * `--json`: `{"backend", "offer": {…as `dstack offer --json`…}, "resources": [{"type", "name",
 * "parent", "custom", "inputs", "secret_inputs", "options"?}], "lookups": [{"token", "args"}],
 * "outputs"}`; secret values are "[secret]". Without `--json`, a readable tree.
 *
 * Every catalog is considered (a cloud need not be configured to be reviewed); the backend's
 * settings (`ssh_ingress_cidrs`, …) come from its entry in DSTACK_HOME/config.yml.
 */
import type { Command } from "commander";
import { DstackError, ExitCode } from "../diagnostics";
import type { Offer } from "../offers/offer";
import type { GraphResource, ResourceGraph } from "../compiler/mock-engine";
import { addRunFlags, runInputFromCommand } from "./run-flags";

export interface CompileOptions {
  json?: boolean;
  offer?: string;
  [k: string]: unknown;
}

function offerIndex(v: string | undefined): number {
  if (v === undefined) return 1;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new DstackError({ code: "E3020", severity: "error", message: `--offer must be a whole number ≥ 1, got ${JSON.stringify(v)}`, hint: "use --offer 1 for the cheapest offer, 2 for the next, …" }, ExitCode.Usage);
  return n;
}

/** Compiles a configuration to its resource graph (the command's core; also used by bench and tests). */
export async function compile(dir: string | undefined, opts: CompileOptions, env: NodeJS.ProcessEnv = process.env): Promise<{ graph: ResourceGraph; offers: Offer[]; index: number }> {
  const index = offerIndex(opts.offer);
  const input = runInputFromCommand(dir, opts, env);
  const { prepareRun } = await import("../runs/prepare");
  const prepared = await prepareRun(input, { purpose: "compile", offer: index });
  const { compileGraph } = await import("../runs/compile");
  return { graph: await compileGraph(prepared), offers: prepared.offers, index };
}

function short(v: unknown, max = 72): string {
  const s = typeof v === "string" ? v : v === undefined ? "(unknown under mocks)" : JSON.stringify(v);
  const one = s.replace(/\n/g, "\\n");
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

function describeResource(r: GraphResource): string {
  const flags: string[] = [];
  if (!r.custom) flags.push("component");
  if (r.options?.protect) flags.push("protected");
  if (r.options?.retain_on_delete) flags.push("retained on delete");
  if (r.options?.read_id) flags.push(`existing ${r.options.read_id}`);
  if (r.secret_inputs.length) flags.push(`secret: ${r.secret_inputs.join(", ")}`);
  return `${r.type}  ${r.name}${flags.length ? `  (${flags.join("; ")})` : ""}`;
}

/** The readable tree of `dstack compile`. */
export function renderGraph(graph: ResourceGraph, opts: { inputs?: boolean } = {}): string {
  const o = graph.offer;
  const gpu = o.gpu_count ? ` ${o.gpu_count}x${o.gpu_name}` : "";
  const lines = [`${graph.backend} ${o.instance_type}${gpu} in ${o.region}, ${o.spot ? "spot" : "on-demand"}, $${o.price}/h`, ""];
  const children = new Map<string | null, GraphResource[]>();
  for (const r of graph.resources) {
    const k = r.parent && graph.resources.some((x) => x.name === r.parent) ? r.parent : null;
    children.set(k, [...(children.get(k) ?? []), r]);
  }
  const walk = (parent: string | null, prefix: string) => {
    const list = children.get(parent) ?? [];
    list.forEach((r, i) => {
      const last = i === list.length - 1;
      lines.push(`${prefix}${last ? "└─ " : "├─ "}${describeResource(r)}`);
      const inner = `${prefix}${last ? "   " : "│  "}`;
      if (opts.inputs !== false) {
        for (const [k, v] of Object.entries(r.inputs)) {
          if (k === "__provider") continue;
          lines.push(`${inner}${(children.get(r.name)?.length ?? 0) > 0 ? "│  " : "   "}${k}: ${short(v)}`);
        }
      }
      walk(r.name, inner);
    });
  };
  lines.push("stack");
  walk(null, "");
  if (graph.lookups.length) {
    lines.push("", "lookups");
    for (const l of graph.lookups) lines.push(`  ${l.token}  ${short(l.args, 100)}`);
  }
  lines.push("", "outputs");
  for (const [k, v] of Object.entries(graph.outputs)) lines.push(`  ${k}: ${short(v, 100)}`);
  return lines.join("\n");
}

export function register(program: Command): void {
  const cmd = program
    .command("compile")
    .description("Compile the configuration to its Pulumi program and print the resource graph (mock engine: no cloud, no credentials)")
    .argument("[DIR]", "the working directory (default: the current one)");
  addRunFlags(cmd);
  cmd
    .option("--offer <N>", "compile for the N-th cheapest matching offer (default 1)")
    .option("--json", "print the resource graph as JSON")
    .action(async (dir: string | undefined, opts: CompileOptions) => {
      const { graph } = await compile(dir, opts);
      process.stdout.write(opts.json ? JSON.stringify(graph, null, 2) + "\n" : renderGraph(graph) + "\n");
    });
}
