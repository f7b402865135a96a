/**
 * The cheapest-offer planner: every configured catalog row (and the local machine) that meets
 * a RunSpec, ranked by price with deterministic tie-breaks, and — when nothing matches — which
 * constraint emptied the list and the nearest offers that break only it.
 */
import type { RunSpec } from "../config/runspec";
import { Diagnostic, DstackError, ExitCode } from "../diagnostics";
import { normalizeBackendName } from "./backend-names";
import { loadCatalogs } from "./catalog";
import { catalogFromOffers } from "./catalog-builder";
import { describeOffer } from "./format";
import type { Catalog } from "./catalog-table";
import type { Offer } from "./offer";
import { ALL_CONSTRAINTS, C, CatalogQuery, ConstraintName, constraintNames } from "./query";
import { describeGpu, formatRange, OfferRequest, Requirements, requirementsOf, requiresGpu } from "./requirements";

export interface FindOffersOptions {
  /** Configured cloud backends (dstack names). `local` is always configured. Default: every catalog. */
  backends?: string[];
  /** Per configured backend, the regions config.yml allows it (absent = all regions). */
  backendRegions?: Record<string, string[]>;
  /** Offer every catalog, configured or not (`dstack offer --all-backends`). */
  allBackends?: boolean;
  /** The local machine's offer (see `localOffer()`); omitted = no local offer. */
  local?: Offer;
  /** Offers read from a configured cluster (src/offers/kubernetes.ts), ranked with the rest. */
  extra?: Offer[];
  /** Default: `loadCatalogs()`. */
  catalog?: Catalog;
  /** How many ranked offers to return (default: all). `total` always counts every match. */
  limit?: number;
}

export interface NearestOffer {
  offer: Offer;
  /** The constraints this offer breaks. */
  breaks: ConstraintName[];
}

export interface NoOffersExplanation {
  /** The constraint that emptied the list (applied in the order hardware → place → price). */
  constraint: ConstraintName;
  /** One line, e.g. `no offer with 8×H200 costs at most $20/h; cheapest otherwise: aws p5.48xlarge in us-east-1 at $55.04/h`. */
  message: string;
  /** The cheapest offers that break only `constraint` (or, when none do, the cheapest that meet every constraint before it). */
  nearest: NearestOffer[];
  /** Matches outside the configured backends and regions (only when the configuration restricts the search). */
  elsewhere: { total: number; backends: string[]; cheapest: Offer } | null;
}

export interface OfferQueryResult {
  /** Ranked, cheapest first; at most `limit`. */
  offers: Offer[];
  /** Every match, before `limit`. */
  total: number;
  /** The highest price among all matches; `null` when none. */
  maxPrice: number | null;
  /** Set when `total` is 0. */
  explanation: NoOffersExplanation | null;
  warnings: Diagnostic[];
}

/** The order constraints are applied in when explaining an empty result. */
const EXPLAIN_ORDER = [C.BACKENDS, C.GPU, C.CPU_ARCH, C.CPU, C.MEMORY, C.DISK, C.SPOT, C.INSTANCE_TYPES, C.REGIONS, C.ZONES, C.MAX_PRICE];

/**
 * Deterministic ranking: price ascending, then fewer surplus resources (GPUs, total GPU memory,
 * CPUs, memory, disk), then backend, region, instance type, zone, on-demand before spot.
 */
export function compareOffers(a: Offer, b: Offer): number {
  return (
    a.price - b.price ||
    a.gpu_count - b.gpu_count ||
    a.gpu_count * (a.gpu_memory ?? 0) - b.gpu_count * (b.gpu_memory ?? 0) ||
    a.cpu - b.cpu ||
    a.memory - b.memory ||
    (a.disk ?? 0) - (b.disk ?? 0) ||
    cmp(a.backend, b.backend) ||
    cmp(a.region, b.region) ||
    cmp(a.instance_type, b.instance_type) ||
    cmp(a.zone ?? "", b.zone ?? "") ||
    Number(a.spot) - Number(b.spot) ||
    cmp(a.gpu_name ?? "", b.gpu_name ?? "")
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Source {
  query: CatalogQuery;
}

function buildSources(opts: FindOffersOptions, req: Requirements): Source[] {
  const catalog = opts.catalog ?? loadCatalogs();
  const configured = opts.allBackends || !opts.backends ? null : opts.backends.map(normalizeBackendName);
  const regions = opts.backendRegions
    ? Object.fromEntries(Object.entries(opts.backendRegions).map(([b, r]) => [normalizeBackendName(b), r]))
    : undefined;
  const sources: Source[] = [{ query: new CatalogQuery(catalog, req, configured, regions) }];
  if (opts.local) sources.push({ query: new CatalogQuery(catalogFromOffers([opts.local], "<local>"), req, null) });
  if (opts.extra?.length) sources.push({ query: new CatalogQuery(catalogFromOffers(opts.extra, "<cluster>"), req, null) });
  return sources;
}

function collect(sources: Source[], limit: number, skip: number): { total: number; maxPrice: number | null; offers: Offer[] } {
  let total = 0;
  let maxPrice: number | null = null;
  const offers: Offer[] = [];
  for (const s of sources) {
    const r = s.query.scan(limit, skip);
    total += r.total;
    if (r.total && (maxPrice === null || r.maxPrice > maxPrice)) maxPrice = r.maxPrice;
    for (const i of r.rows) offers.push(s.query.catalog.offer(i));
  }
  offers.sort(compareOffers);
  if (offers.length > limit) offers.length = Math.max(0, limit);
  return { total, maxPrice, offers };
}

/** Finds and ranks the offers that satisfy `spec` on the configured backends. */
export function findOffers(spec: RunSpec | OfferRequest, opts: FindOffersOptions = {}): OfferQueryResult {
  const req = requirementsOf(spec);
  const sources = buildSources(opts, req);
  const limit = opts.limit ?? Infinity;
  const { total, maxPrice, offers } = collect(sources, limit, 0);
  const warnings = backendWarnings(req, sources, opts);
  const explanation = total === 0 ? explain(req, sources, opts) : null;
  return { offers, total, maxPrice, explanation, warnings };
}

function backendWarnings(req: Requirements, sources: Source[], opts: FindOffersOptions): Diagnostic[] {
  const known = new Set<string>(["local", ...sources[0].query.catalog.cols.backends, ...(opts.extra ?? []).map((o) => o.backend)]);
  // a cluster's backend offers its nodes (none when it has none or does not answer: its own warning)
  if (opts.backends?.map(normalizeBackendName).includes("kubernetes")) known.add("kubernetes");
  const out: Diagnostic[] = [];
  for (const b of req.backends ?? []) {
    if (!known.has(b)) {
      out.push({
        code: "E2021",
        severity: "warning",
        message: `no catalog for backend "${b}"`,
        hint: `known backends: ${[...known].sort().join(", ")}`,
      });
    }
  }
  for (const b of opts.allBackends ? [] : (opts.backends ?? [])) {
    const n = normalizeBackendName(b);
    if (!known.has(n)) {
      out.push({
        code: "E2022",
        severity: "warning",
        message: `configured backend "${b}" has no catalog, so it offers nothing`,
        hint: `catalogs exist for: ${[...known].sort().join(", ")}; a fresher catalog can be put in DSTACK_CATALOG_DIR`,
      });
    }
  }
  return out;
}

function count(sources: Source[], skip: number): number {
  let n = 0;
  for (const s of sources) n += s.query.scan(0, skip).total;
  return n;
}

function nearest(sources: Source[], skip: number, n: number): NearestOffer[] {
  const found: { offer: Offer; breaks: number }[] = [];
  for (const s of sources) {
    for (const i of s.query.scan(n, skip).rows) found.push({ offer: s.query.catalog.offer(i), breaks: s.query.fails(i, 0, true) });
  }
  found.sort((a, b) => compareOffers(a.offer, b.offer));
  return found.slice(0, n).map((f) => ({ offer: f.offer, breaks: constraintNames(f.breaks) }));
}

function explain(req: Requirements, sources: Source[], opts: FindOffersOptions): NoOffersExplanation {
  const configuredList = opts.allBackends || !opts.backends ? null : opts.backends.map(normalizeBackendName);
  const domain = [...(opts.local ? ["local"] : []), ...(configuredList ?? sources[0].query.catalog.backendNames())];
  let culprit = 0;
  let applied = C.CONFIGURED;
  if (count(sources, ALL_CONSTRAINTS & ~applied) === 0) culprit = C.CONFIGURED;
  else {
    for (const c of EXPLAIN_ORDER) {
      applied |= c;
      if (count(sources, ALL_CONSTRAINTS & ~applied) === 0) {
        culprit = c;
        break;
      }
    }
  }
  if (!culprit) culprit = C.MAX_PRICE; // unreachable: all constraints applied gives the (empty) result
  let near = nearest(sources, culprit, 3);
  let onlyIt = true;
  if (!near.length && culprit !== C.CONFIGURED) {
    // breaking the culprit alone is not enough: show the cheapest that meet what came before it
    near = nearest(sources, ALL_CONSTRAINTS & ~(applied & ~culprit), 3);
    onlyIt = false;
  }
  let elsewhere: NoOffersExplanation["elsewhere"] = null;
  if (configuredList) {
    // what the catalogs that are not configured would offer (everything else applied)
    const s = sources[0].query;
    const cheapest = s.scan(1, C.CONFIGURED); // the cheapest and its price ties
    if (cheapest.total > 0) {
      const { backends: names, backend } = s.catalog.cols;
      const all = s.scan(Infinity, C.CONFIGURED);
      const backends = [...new Set(all.rows.map((i) => names[backend[i]]))].sort();
      elsewhere = { total: cheapest.total, backends, cheapest: cheapest.rows.map((i) => s.catalog.offer(i)).sort(compareOffers)[0] };
    }
  }
  const name = constraintNames(culprit)[0];
  const message = explanationMessage(req, culprit, near, onlyIt, domain, elsewhere);
  return { constraint: name, message, nearest: near, elsewhere };
}

/** What a constraint asks, as a predicate phrase: `costs at most $20/h`. */
function phrase(req: Requirements, c: number, domain: string[]): string {
  switch (c) {
    case C.GPU:
      return requiresGpu(req) || req.gpu.names ? `has ${describeGpu(req)}` : `has no GPU or ${describeGpu(req)}`;
    case C.CPU_ARCH:
      return `has an ${req.cpuArch} CPU`;
    case C.CPU:
      return `has ${formatRange(req.cpu)} CPUs`;
    case C.MEMORY:
      return `has ${formatRange(req.memory, "GB")} memory`;
    case C.DISK:
      return `has ${formatRange(req.disk ?? { min: null, max: null }, "GB")} disk`;
    case C.SPOT:
      return req.spot ? "is a spot instance" : "is on-demand";
    case C.INSTANCE_TYPES:
      return `is of instance type ${(req.instanceTypes ?? []).join(" or ")}`;
    case C.BACKENDS:
      return `is on ${(req.backends ?? []).join(" or ")}${domain.length ? ` (configured: ${domain.join(", ")})` : ""}`;
    case C.CONFIGURED:
      return `is on a configured backend${domain.length ? ` (${domain.join(", ")})` : " (none configured)"}`;
    case C.REGIONS:
      return `is in ${(req.regions ?? []).join(" or ")}`;
    case C.ZONES:
      return `is in zone ${(req.zones ?? []).join(" or ")}`;
    default:
      return `costs at most $${req.maxPrice}/h`;
  }
}

/** What an offer has for a constraint it breaks: `76GB disk`, `$55.04/h`. */
function actual(o: Offer, c: ConstraintName): string {
  switch (c) {
    case "gpu":
      return o.gpu_count ? `${o.gpu_count}×${o.gpu_name}:${o.gpu_memory}GB` : "no GPU";
    case "cpu_arch":
      return `an ${o.cpu_arch} CPU`;
    case "cpu":
      return `${o.cpu} CPUs`;
    case "memory":
      return `${o.memory}GB memory`;
    case "disk":
      return `${o.disk}GB disk${o.backend === "local" && typeof o.provider_data?.disk_free === "number" ? ` (${o.provider_data.disk_free}GB free)` : ""}`;
    case "spot_policy":
      return o.spot ? "spot" : "on-demand";
    case "instance_types":
      return `type ${o.instance_type}`;
    case "backends":
    case "configured_backends":
      return `backend ${o.backend}`;
    case "regions":
      return `region ${o.region}`;
    case "availability_zones":
      return `zone ${o.zone}`;
    default:
      return `$${o.price}/h`;
  }
}

function explanationMessage(
  req: Requirements,
  culprit: number,
  near: NearestOffer[],
  onlyIt: boolean,
  domain: string[],
  elsewhere: NoOffersExplanation["elsewhere"],
): string {
  const withGpu = culprit !== C.GPU && (requiresGpu(req) || req.gpu.names) ? `with ${describeGpu(req)} ` : "";
  let msg = `no offer ${withGpu}${phrase(req, culprit, domain)}`;
  if (culprit === C.CONFIGURED) {
    if (elsewhere) msg += `; ${elsewhere.total} on other backends (${elsewhere.backends.join(", ")}), cheapest ${describeOffer(elsewhere.cheapest)}`;
    return msg;
  }
  if (near.length) {
    const n = near[0];
    // the price is already in the offer's description
    const broken = n.breaks.filter((b) => b !== "max_price" || n.offer.backend === "local").map((b) => actual(n.offer, b));
    const withWhat = broken.length ? `, with ${broken.join(", ")}` : "";
    msg += `; ${onlyIt ? "cheapest otherwise matching" : "nearest"}: ${describeOffer(n.offer)}${withWhat}`;
  }
  return msg;
}

/** Whether one offer satisfies the spec (the same semantics as `findOffers`). */
export function matchOffer(spec: RunSpec | OfferRequest, offer: Offer): boolean {
  return offerViolations(spec, offer).length === 0;
}

/** The constraints an offer breaks for a spec (empty = it matches). */
export function offerViolations(spec: RunSpec | OfferRequest, offer: Offer): ConstraintName[] {
  const q = new CatalogQuery(catalogFromOffers([offer]), requirementsOf(spec), null);
  return constraintNames(q.fails(0, 0, true));
}

/** The error `dstack up`/`offer` raise when nothing matches (exit code 3). */
export function noOffersError(result: OfferQueryResult): DstackError {
  const e = result.explanation;
  const diagnostics: Diagnostic[] = [
    {
      code: "E2020",
      severity: "error",
      message: e ? e.message : "no offer matches the requirements",
      hint: noOffersHint(result),
    },
  ];
  return new DstackError(diagnostics, ExitCode.NoOffers);
}

/** What to do about an empty result. */
export function noOffersHint(result: OfferQueryResult): string {
  const e = result.explanation;
  if (!e) return "relax the resources, spot_policy or max_price";
  const hints: Record<ConstraintName, string> = {
    gpu: "ask for another GPU name, count or memory (`dstack offer --all-backends --gpu …` lists what exists)",
    cpu_arch: "drop the architecture from `cpu` or set an `image` built for the other architecture",
    cpu: "lower the CPU count in `resources.cpu`",
    memory: "lower `resources.memory`",
    disk: "lower `resources.disk` (e.g. `--disk 10GB..`; for local it is the size of the disk that holds Docker's data root)",
    spot_policy: "use `spot_policy: auto` to accept both spot and on-demand",
    instance_types: "check the names in `instance_types`",
    backends: "change `backends` (or -b) to a configured backend",
    configured_backends: "configure a backend in ~/.dstack/config.yml or list every catalog with `dstack offer --all-backends`",
    regions: "change `regions` (or -r)",
    availability_zones: "change `availability_zones`",
    max_price: "raise `max_price` (or --max-price)",
  };
  if (!e.elsewhere) return hints[e.constraint];
  const n = e.elsewhere.total;
  const elsewhere = `${n} offer${n > 1 ? "s" : ""} exist${n > 1 ? "" : "s"} outside the configured backends and regions (on ${e.elsewhere.backends.join(", ")}): configure them in ~/.dstack/config.yml, or see them with \`dstack offer --all-backends\``;
  return e.constraint === "configured_backends" ? elsewhere : `${hints[e.constraint]}; or: ${elsewhere}`;
}
