/**
 * `dstack offer [DIR|-f FILE] [run flags] [--max-offers N] [--group-by gpu,backend,region,count]
 * [--all-backends] [--json]`: the offers that satisfy the configuration (or, without one, a
 * task with the flags' resources), cheapest first, on the configured backends (`local` and those
 * in ~/.dstack/config.yml), or on every catalog with --all-backends.
 *
 * `--json`: `{"offers": [{"backend", "region", "instance_type", "price", "spot", "cpu",
 * "cpu_arch", "memory", "disk", "gpu_count", "gpu_name", "gpu_memory", "gpu_vendor"}, …],
 * "total": N}` in the table's order (memory and disk in GB, price in $/h); when nothing matches,
 * also `"explanation"`, and the exit code is 3. With --group-by: `{"groups": […], "total": N}`.
 */
import Table from "cli-table3";
import type { Command } from "commander";
import { ConfigError, ExitCode } from "../diagnostics";
import { offerJson, type Offer } from "../offers/offer";
import { priceColumn, resourcesColumn } from "../offers/format";
import type { OfferQueryResult } from "../offers/find";
import { formatDiagnostic } from "./errors";
import { addRunFlags } from "./run-flags";

export const GROUP_KEYS = ["gpu", "backend", "region", "count"] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

const BLANK = {
  top: "", "top-mid": "", "top-left": "", "top-right": "", bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "",
  left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "  ",
};

function table(head: string[]) {
  return new Table({ head, style: { head: [], border: [], compact: true, "padding-left": 0, "padding-right": 0 }, chars: BLANK });
}

/** The offers table and its footer. */
export function renderOffers(result: OfferQueryResult): string {
  const t = table(["#", "BACKEND", "RESOURCES", "INSTANCE TYPE", "SPOT", "PRICE"]);
  result.offers.forEach((o, k) => {
    t.push([String(k + 1), `${o.backend} (${o.zone ?? o.region})`, resourcesColumn(o), o.instance_type, o.spot ? "spot" : "on-demand", priceColumn(o.price)]);
  });
  const more = result.total > result.offers.length ? "\n  ..." : "";
  return `${t.toString()}${more}\n\nShown ${result.offers.length} of ${result.total} offers, ${priceColumn(result.maxPrice ?? 0)} max\n`;
}

export interface OfferGroup {
  gpu_name?: string | null;
  gpu_memory?: number | null;
  backend?: string;
  region?: string;
  gpu_count?: number;
  offers: number;
  spot: ("spot" | "on-demand")[];
  price: { min: number; max: number };
}

/** Groups ranked offers by the given keys; groups keep the order of their cheapest offer. */
export function groupOffers(offers: Offer[], keys: GroupKey[]): OfferGroup[] {
  const groups = new Map<string, OfferGroup>();
  for (const o of offers) {
    const g: Partial<OfferGroup> = {};
    if (keys.includes("gpu")) {
      g.gpu_name = o.gpu_name;
      g.gpu_memory = o.gpu_memory;
    }
    if (keys.includes("backend")) g.backend = o.backend;
    if (keys.includes("region")) g.region = o.region;
    if (keys.includes("count")) g.gpu_count = o.gpu_count;
    const id = JSON.stringify(g);
    let e = groups.get(id);
    if (!e) groups.set(id, (e = { ...g, offers: 0, spot: [], price: { min: o.price, max: o.price } }));
    e.offers++;
    const s = o.spot ? "spot" : "on-demand";
    if (!e.spot.includes(s)) e.spot.push(s);
    e.price.min = Math.min(e.price.min, o.price);
    e.price.max = Math.max(e.price.max, o.price);
  }
  return [...groups.values()];
}

export function renderGroups(groups: OfferGroup[], keys: GroupKey[], total: number, shown: number): string {
  const head = ["#"];
  if (keys.includes("gpu")) head.push("GPU");
  if (keys.includes("count")) head.push("COUNT");
  if (keys.includes("backend")) head.push("BACKEND");
  if (keys.includes("region")) head.push("REGION");
  head.push("OFFERS", "SPOT", "PRICE");
  const t = table(head);
  groups.slice(0, shown).forEach((g, k) => {
    const row = [String(k + 1)];
    if (keys.includes("gpu")) row.push(g.gpu_name ? `${g.gpu_name}:${g.gpu_memory}GB` : "-");
    if (keys.includes("count")) row.push(String(g.gpu_count));
    if (keys.includes("backend")) row.push(g.backend ?? "");
    if (keys.includes("region")) row.push(g.region ?? "");
    const price = g.price.min === g.price.max ? priceColumn(g.price.min) : `${priceColumn(g.price.min)}..${priceColumn(g.price.max)}`;
    row.push(String(g.offers), [...g.spot].sort().reverse().join(", "), price);
    t.push(row);
  });
  return `${t.toString()}\n\nShown ${Math.min(shown, groups.length)} of ${groups.length} groups (${total} offers)\n`;
}

function parseGroupBy(v: unknown): GroupKey[] | null {
  if (typeof v !== "string") return null;
  const keys = v.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  const bad = keys.filter((k) => !(GROUP_KEYS as readonly string[]).includes(k));
  if (bad.length || !keys.length) {
    throw new ConfigError({
      code: "E2030",
      severity: "error",
      message: `--group-by takes ${GROUP_KEYS.join(", ")} (comma-separated), got ${JSON.stringify(v)}`,
      hint: "e.g. --group-by gpu or --group-by gpu,backend",
    });
  }
  return keys as GroupKey[];
}

function parseMaxOffers(v: unknown): number {
  if (v === undefined) return 50;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new ConfigError({ code: "E2031", severity: "error", message: `--max-offers must be a whole number of at least 1, got ${JSON.stringify(v)}`, hint: "e.g. --max-offers 10" });
  }
  return n;
}

export function register(program: Command): void {
  const cmd = program
    .command("offer")
    .description("List the offers (instances and prices) that satisfy the requirements, cheapest first")
    .argument("[DIR]", "the working directory (default: the current one)");
  addRunFlags(cmd)
    .option("--max-offers <N>", "show at most N offers (default 50)")
    .option("--group-by <KEYS>", "group offers by gpu, backend, region and/or count (comma-separated)")
    .option("--all-backends", "offer every catalog, not only the backends configured in ~/.dstack/config.yml")
    .option("--json", "print the offers as JSON")
    .action(async (dir: string | undefined, opts: Record<string, unknown>) => {
      const json = opts.json === true;
      const limit = parseMaxOffers(opts.maxOffers);
      const groupBy = parseGroupBy(opts.groupBy);
      // ask Docker and nvidia-smi first: they answer while the configuration and catalogs load
      const { localOffer } = await import("../offers/local");
      const localPromise = localOffer();
      localPromise.catch(() => undefined);
      const { offerRunSpec } = await import("./run-spec");
      const spec = offerRunSpec(dir, opts);
      const { loadCatalogs } = await import("../offers/catalog");
      const { findOffers, noOffersError } = await import("../offers/find");
      const { configuredBackends } = await import("../offers/backends-config");
      const all = opts.allBackends === true;
      const configured = all ? { backends: undefined, backendRegions: undefined } : configuredBackends();
      const catalog = loadCatalogs();
      const local = await localPromise;
      // a configured cluster's nodes (src/offers/kubernetes.ts)
      const cluster = await (await import("../offers/kubernetes")).kubernetesOffers({ spec });
      const result = findOffers(spec, {
        catalog,
        local,
        extra: cluster.offers,
        allBackends: all,
        backends: configured.backends,
        backendRegions: configured.backendRegions,
        limit: groupBy ? Infinity : limit,
      });
      result.warnings.push(...cluster.warnings);
      if (result.warnings.length) {
        // stderr in both modes: --json keeps stdout to its one document
        for (const w of result.warnings) process.stderr.write(formatDiagnostic(w) + "\n");
      }
      if (result.total === 0) {
        if (json) {
          process.stdout.write(JSON.stringify({ offers: [], total: 0, explanation: explanationJson(result) }, null, 2) + "\n");
          process.exitCode = ExitCode.NoOffers;
          return;
        }
        const e = result.explanation;
        if (e && e.nearest.length) {
          process.stderr.write(`Nearest offers (they break ${[...new Set(e.nearest.flatMap((n) => n.breaks))].join(", ")}):\n`);
          process.stderr.write(renderOffers({ ...result, offers: e.nearest.map((n) => n.offer), total: e.nearest.length, maxPrice: Math.max(...e.nearest.map((n) => n.offer.price)) }).split("\n\nShown")[0] + "\n\n");
        }
        throw noOffersError(result);
      }
      if (groupBy) {
        const groups = groupOffers(result.offers, groupBy);
        if (json) process.stdout.write(JSON.stringify({ groups: groups.slice(0, limit), total: result.total }, null, 2) + "\n");
        else process.stdout.write(renderGroups(groups, groupBy, result.total, limit));
        return;
      }
      if (json) process.stdout.write(JSON.stringify({ offers: result.offers.map(offerJson), total: result.total }, null, 2) + "\n");
      else process.stdout.write(renderOffers(result));
    });
}

function explanationJson(result: OfferQueryResult) {
  const e = result.explanation;
  if (!e) return null;
  return {
    constraint: e.constraint,
    message: e.message,
    nearest: e.nearest.map((n) => ({ ...offerJson(n.offer), breaks: n.breaks })),
    elsewhere: e.elsewhere ? { total: e.elsewhere.total, backends: e.elsewhere.backends, cheapest: offerJson(e.elsewhere.cheapest) } : null,
  };
}
