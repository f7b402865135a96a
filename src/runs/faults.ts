/**
 * The one seam through which tests (and people rehearsing failures) inject faults into runs:
 * a JSON file named by DSTACK_FAULTS, read afresh every time it is asked (a test may rewrite it
 * while a run retries). Nothing else in dstack has a test-only branch; docs/lifecycle.md
 * ("Faults seam") documents the format:
 *
 *   {
 *     "offers": [{"instance_type": "slot-a", "price": 0.01, "spot": false}, ...],
 *     "no_capacity": ["slot-a", "slot-b"]            // or ["*"]: every offer
 *   }
 *
 * - `offers`: this machine presented as several local offers (each one the machine's own offer
 *   with these fields replaced), so that retrying over "the next offers in price order" and
 *   `spot_policy: auto` can be exercised on the local backend.
 * - `no_capacity`: offers (by instance type) that answer "no capacity" when an attempt tries
 *   them, as a cloud does when it has no machine of that type free.
 *
 * Real faults need no seam: a container killed or removed from outside is an interruption, a
 * task exiting non-zero an error, and the local machine's capacity is accounted in capacity.ts.
 */
import * as fs from "fs";
import { DstackError, ExitCode } from "../diagnostics";
import type { Offer } from "../offers/offer";

export interface FaultOffer {
  instance_type: string;
  price?: number;
  spot?: boolean;
}

export interface Faults {
  offers: FaultOffer[];
  no_capacity: string[];
}

const NONE: Faults = { offers: [], no_capacity: [] };

/** The faults file's content (none when DSTACK_FAULTS is unset); E6290 when it is unreadable or malformed. */
export function readFaults(env: NodeJS.ProcessEnv = process.env): Faults {
  const file = env.DSTACK_FAULTS;
  if (!file) return NONE;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw faultsError(file, (e as Error).message);
  }
  return parseFaults(raw, file);
}

/** Validates a faults document (pure). */
export function parseFaults(raw: unknown, file = "DSTACK_FAULTS"): Faults {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw faultsError(file, "expected a JSON object");
  const r = raw as Record<string, unknown>;
  const unknown = Object.keys(r).filter((k) => k !== "offers" && k !== "no_capacity");
  if (unknown.length) throw faultsError(file, `unknown key(s) ${unknown.join(", ")}; known: offers, no_capacity`);
  const offers = r.offers ?? [];
  const noCapacity = r.no_capacity ?? [];
  if (!Array.isArray(offers) || !offers.every((o) => o && typeof o === "object" && typeof (o as FaultOffer).instance_type === "string")) {
    throw faultsError(file, "offers: expected a list of {instance_type, price?, spot?}");
  }
  if (!Array.isArray(noCapacity) || !noCapacity.every((x) => typeof x === "string")) throw faultsError(file, "no_capacity: expected a list of instance types (or \"*\")");
  return { offers: offers as FaultOffer[], no_capacity: noCapacity as string[] };
}

function faultsError(file: string, why: string): DstackError {
  return new DstackError(
    { code: "E6290", severity: "error", message: `the faults file ${file} (DSTACK_FAULTS) is not usable: ${why}`, hint: "fix it (docs/lifecycle.md, \"Faults seam\") or unset DSTACK_FAULTS" },
    ExitCode.Usage,
  );
}

/** The local machine's offers as the faults file presents them (just the machine's own without one). */
export function localOffersWithFaults(machine: Offer, faults: Faults): Offer[] {
  if (faults.offers.length === 0) return [machine];
  return faults.offers.map((f) => ({ ...machine, instance_type: f.instance_type, price: f.price ?? machine.price, spot: f.spot ?? machine.spot }));
}

/** Whether the faults file says the offer has no capacity now. */
export function injectedNoCapacity(offer: Offer, faults: Faults): boolean {
  return faults.no_capacity.includes("*") || faults.no_capacity.includes(offer.instance_type);
}
