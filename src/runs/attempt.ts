/**
 * One attempt at running a run: the offers in price order (at most MAX_OFFERS_PER_ATTEMPT),
 * each checked for capacity before the engine is asked to provision on it. An offer without
 * capacity is skipped for the next; the first that provisions wins. When none had capacity the
 * attempt is recorded as `no_capacity` (with every offer tried) and the run either waits for its
 * next attempt or fails, as the retry policy says (reconcile-decision.ts `onFailure`).
 *
 * `spot_policy: auto` lets spot and on-demand offers compete on price, so a run whose spot
 * instance was reclaimed comes back on whichever is cheapest with capacity now — on-demand when
 * the spot offer has none. Used by `dstack up` (the first attempt, attached or detached), by the
 * reconciler for later attempts (reconcile.ts), and so by `dstack agent` and `dstack reap`.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { RunSpec } from "../config/runspec";
import { DstackError, ExitCode } from "../diagnostics";
import type { Offer } from "../offers/offer";
import * as ws from "../stacks/workspace";
import { capacityShortfall, freeCapacity, localHoldings } from "./capacity";
import { rankForUp } from "./choose";
import { injectedNoCapacity, localOffersWithFaults, readFaults } from "./faults";
import { baseImageFor, offersFor, preflight } from "./inputs";
import { applyRun, discardNewRun, planRun, type ApplyResult, type PlannedRun } from "./lifecycle";
import { isCloudBackend } from "../compiler/backends/cloud/prerequisites";
import { accountSetupError, classifyProviderError } from "./provider-errors";
import { MAX_OFFERS_PER_ATTEMPT } from "./reconcile-decision";
import { attemptOffer, endAttempt, recordTags, storedSpec, type RunRecord, type TerminationReason } from "./record";
import { endRun, readRecord, recordProgram } from "./records";
import { runProgramSettings } from "./volumes";

/** An offer tried in an attempt and why it was passed over. */
export interface TriedOffer {
  offer: Offer;
  why: string;
}

export type AttemptOutcome =
  | { kind: "provisioned"; planned: PlannedRun; result: ApplyResult; tried: TriedOffer[] }
  | { kind: "no_capacity"; tried: TriedOffer[] };

/** `slot-a ($0.01/h): 4 CPUs asked, 2 free; slot-b: no capacity` (pure). */
export function describeTried(tried: TriedOffer[]): string {
  return tried.map((t) => `${t.offer.backend} ${t.offer.instance_type}${t.offer.spot ? " (spot)" : ""}: ${t.why}`).join("; ");
}

/** Offers of an attempt (pure): the spot policy applied, cheapest first, at most MAX_OFFERS_PER_ATTEMPT. */
export function attemptOrder(offers: Offer[], spotPolicy: RunSpec["spot_policy"]): Offer[] {
  const allowed = offers.filter((o) => spotPolicy === "auto" || (spotPolicy === "spot" ? o.spot : !o.spot));
  return rankForUp(allowed).slice(0, MAX_OFFERS_PER_ATTEMPT);
}

/** The offers a run's attempt tries: this machine (as the faults seam presents it), in order. */
export async function offersOfAttempt(spec: RunSpec, env: NodeJS.ProcessEnv = process.env): Promise<Offer[]> {
  const { chosen, offers } = await offersFor(spec); // E2020 / E6105 when this machine cannot run it at all
  // a cloud run: the clouds' offers in price order (a capacity error moves the attempt to the next)
  if (isCloudBackend(chosen.backend)) return attemptOrder(offers.filter((o) => isCloudBackend(o.backend)), spec.spot_policy);
  return attemptOrder(localOffersWithFaults(chosen, readFaults(env)), spec.spot_policy);
}

export interface AttemptOptions {
  env?: NodeJS.ProcessEnv;
  /** The run already planned on one of the offers (`dstack up`'s plan): used as is for that offer. */
  planned?: PlannedRun;
  /** Whether the backend's preflight already ran (`dstack up` ran it in prepareRun). */
  preflighted?: boolean;
  onEvent?: (e: EngineEvent) => void;
  signal?: AbortSignal;
  interrupted?: AbortSignal;
  refresh?: boolean;
  settings?: Record<string, unknown>;
  /** The record to plan from (a retry whose attempt was ended in memory: see reconcile.ts). */
  previous?: RunRecord;
}

function sameOffer(a: Offer, b: Offer): boolean {
  return a.backend === b.backend && a.region === b.region && a.instance_type === b.instance_type && a.price === b.price && a.spot === b.spot;
}

/** Why an offer has no capacity now, or null when it has (faults seam first, then the machine's own accounting). */
async function noCapacity(spec: RunSpec, offer: Offer, env: NodeJS.ProcessEnv): Promise<string | null> {
  if (injectedNoCapacity(offer, readFaults(env))) return "no capacity (DSTACK_FAULTS)";
  if (offer.backend !== "local") return null;
  const holdings = await localHoldings(spec.name, env);
  const short = capacityShortfall(spec, freeCapacity(offer, holdings), holdings);
  return short.length ? `no capacity: ${short.join(", ")}` : null;
}

/**
 * Tries the run's offers in order; the first with capacity is provisioned (an engine error there
 * is thrown, the caller decides). Nothing is written when no offer had capacity.
 */
export async function provisionAttempt(spec: RunSpec, o: AttemptOptions = {}): Promise<AttemptOutcome> {
  const env = o.env ?? process.env;
  const offers = await offersOfAttempt(spec, env);
  const tried: TriedOffer[] = [];
  for (const offer of offers) {
    const why = await noCapacity(spec, offer, env);
    if (why) {
      tried.push({ offer, why });
      continue;
    }
    const planned =
      o.planned && sameOffer(o.planned.plan.offer, offer)
        ? o.planned
        : await planRun(spec, offer, { baseImage: baseImageFor(offer.backend, spec), env, previous: o.previous, settings: o.settings ?? o.planned?.settings ?? (await runProgramSettings(spec, offer.backend, { env })) });
    if (!o.preflighted || planned !== o.planned) await preflight(planned.plan, { python: spec.python, env });
    let result: ApplyResult;
    try {
      result = await applyRun(planned, { env, onEvent: o.onEvent, signal: o.signal, interrupted: o.interrupted, refresh: o.refresh });
    } catch (e) {
      // a cloud's capacity error (provider-errors.ts): this offer has none now, the next is tried
      const text = e instanceof DstackError ? e.diagnostics.map((d) => d.message).join("\n") : String((e as Error).message ?? e);
      const c = isCloudBackend(offer.backend) ? classifyProviderError(offer.backend, text) : null;
      // an account setup the run needs (Azure: a resource provider, a role assignment): its fix, coded
      const setup = c ? accountSetupError(offer.backend, text) : null;
      if (setup) {
        if (planned.previous === null) await discardNewRun(planned, env);
        throw new DstackError(setup, ExitCode.Prerequisite);
      }
      if (!c || c.kind !== "no-capacity") throw e;
      // what the failed create left (security group, key pair) goes with the run's stack when it is new
      if (planned.previous === null) await discardNewRun(planned, env);
      tried.push({ offer, why: `no capacity: ${c.message}` });
      continue;
    }
    return { kind: "provisioned", planned, result, tried };
  }
  return { kind: "no_capacity", tried };
}

/** The reason of an attempt that found no capacity, listing what was tried. */
export function noCapacityReason(tried: TriedOffer[]): TerminationReason {
  return { kind: "no_capacity", message: tried.length ? describeTried(tried) : "no offer to try" };
}

/**
 * Records an attempt that found no capacity: the run waits for its next attempt (`retry`) or
 * ends failed with `final` (no_capacity, or retry_limit_exceeded once the window closed). A run
 * with no stack yet (a new run's first attempt) gets one holding only its record, so that
 * `ps -a` and the agent see it.
 */
export async function recordNoCapacity(spec: RunSpec, tried: TriedOffer[], o: { retry: boolean; final?: TerminationReason; env?: NodeJS.ProcessEnv; planned?: PlannedRun }): Promise<RunRecord> {
  const env = o.env ?? process.env;
  const reason = o.retry ? noCapacityReason(tried) : (o.final ?? noCapacityReason(tried));
  const first = tried[0]?.offer ?? o.planned?.plan.offer;
  if (!first) throw new DstackError({ code: "E6250", severity: "error", message: `${spec.name}: no offer to try`, hint: "relax the run's resources or spot policy" }, ExitCode.NoOffers);
  const stored = await readRecord(spec.name, { env });
  if (stored?.record) {
    return (await endRun(spec.name, reason, { env, retry: o.retry, attempt: attemptOffer(first) })).record;
  }
  // a new run: its first record, with the attempt that found nothing, in a stack of its own
  const planned = o.planned ?? (await planRun(spec, first, { baseImage: baseImageFor(first.backend, spec), env }));
  const now = new Date().toISOString();
  const tried1 = endAttempt({ ...planned.record, attempts: planned.record.attempts.map((a) => ({ ...a, offer: attemptOffer(first) })) }, reason, now);
  const record: RunRecord = o.retry ? { ...tried1, status: "submitted" } : { ...tried1, status: "failed", reason, ended_at: now };
  const { spec: publicSpec, secrets } = storedSpec(spec);
  const hasSecrets = Object.keys(secrets.env).length > 0 || secrets.registry_password !== null;
  const stack = await ws.openStack(spec.name, recordProgram(record, publicSpec, hasSecrets ? secrets : null), { env, exists: false });
  // not marked as created by this command: a failed `up` keeps this record (`ps -a` shows it)
  await ws.upStack(stack, { env, message: `dstack: run ${spec.name} attempt 1 found no capacity${o.retry ? "; waiting to retry" : ""}` });
  await ws.setStackTags(spec.name, recordTags(record), env);
  return record;
}

/** The error `dstack up` ends with when a run failed for lack of capacity (exit 3). */
export function noCapacityError(name: string, record: RunRecord | null, reason: TerminationReason): DstackError {
  const tries = record ? record.attempts.length : 1;
  return new DstackError(
    {
      code: reason.kind === "retry_limit_exceeded" ? "E6251" : "E6250",
      severity: "error",
      message:
        reason.kind === "retry_limit_exceeded"
          ? `${name} failed: retry limit exceeded after ${tries} attempt(s); the last: ${reason.message ?? "no capacity"}`
          : `${name} failed: no capacity (${reason.message ?? "every offer tried"})`,
      hint: "`dstack ps -a` lists its attempts; `retry: {on_events: [no-capacity], duration: 1h}` waits for capacity, or stop the runs that hold it",
    },
    ExitCode.NoOffers,
  );
}
