/**
 * Provider errors, classified for retry: one table of the clouds' capacity errors. A run whose
 * create failed with one of them has `no-capacity` (the offer is unavailable right now: the
 * run moves on to the next offer); anything else is `error`, with the provider's message kept
 * short (request ids, URNs and the engine's wrapping removed). Pure.
 */
import type { Diagnostic } from "../diagnostics";

export type ProviderErrorKind = "no-capacity" | "error";

export interface ClassifiedError {
  kind: ProviderErrorKind;
  /** The provider's error code when one of the table matched (`InsufficientInstanceCapacity`), else null. */
  code: string | null;
  /** The provider's message, short (one line, at most `MAX_MESSAGE` characters). */
  message: string;
}

export const MAX_MESSAGE = 240;

interface CapacityRule {
  backend: "aws" | "gcp" | "azure";
  code: string;
  /** Matches the provider's error text. */
  pattern: RegExp;
}

/** The capacity errors of each cloud (issue 11's table), as their providers report them. */
export const CAPACITY_ERRORS: readonly CapacityRule[] = [
  { backend: "aws", code: "InsufficientInstanceCapacity", pattern: /\bInsufficientInstanceCapacity\b/ },
  { backend: "aws", code: "SpotMaxPriceTooLow", pattern: /\bSpotMaxPriceTooLow\b/ },
  { backend: "aws", code: "MaxSpotInstanceCountExceeded", pattern: /\bMaxSpotInstanceCountExceeded\b/ },
  { backend: "aws", code: "VcpuLimitExceeded", pattern: /\bVcpuLimitExceeded\b/ },
  // `Unsupported` alone (the instance type is not offered in the zone), not UnsupportedOperation & co.
  { backend: "aws", code: "Unsupported", pattern: /(?:api error |^|\s)Unsupported:/ },
  { backend: "gcp", code: "ZONE_RESOURCE_POOL_EXHAUSTED", pattern: /\bZONE_RESOURCE_POOL_EXHAUSTED(?:_WITH_DETAILS)?\b|does not have enough resources available to fulfill the request/ },
  { backend: "gcp", code: "QUOTA_EXCEEDED", pattern: /\bQUOTA_EXCEEDED\b|Quota '[A-Z0-9_]+' exceeded/ },
  { backend: "gcp", code: "MACHINE_TYPE_UNAVAILABLE", pattern: /[Mm]achine type (?:with name )?'?[\w-]+'? (?:does not exist|is not available) in zone|machineTypes\/[\w-]+' (?:was )?not found/ },
  { backend: "azure", code: "SkuNotAvailable", pattern: /\bSkuNotAvailable\b/ },
  { backend: "azure", code: "AllocationFailed", pattern: /\b(?:Zonal)?AllocationFailed\b|\bOverconstrainedAllocationRequest\b/ },
  { backend: "azure", code: "OperationNotAllowed", pattern: /\bOperationNotAllowed\b[\s\S]*\bquota\b|\bQuotaExceeded\b/i },
];

/** The provider's message, one line and short: the engine's wrapping, request ids and URNs dropped. */
export function shortProviderMessage(text: string, max = MAX_MESSAGE): string {
  // eslint-disable-next-line no-control-regex -- ANSI colour codes of the engine's output
  let t = text.replace(/\x1b\[[0-9;]*m/g, "");
  // the innermost provider error: after the engine's "error: " / "* " wrappings
  const lines = t.split("\n").map((l) => l.trim()).filter((l) => l && !/^(diagnostics|pulumi:pulumi:Stack|Resources:|Duration:|error: update failed)/.test(l));
  const api = lines.find((l) => /api error |Error \d{3}:|Code="|"code":|\bcode:/.test(l)) ?? lines.find((l) => /error/i.test(l)) ?? lines[0] ?? "";
  t = api
    .replace(/^.*?(?=api error )/, "")
    .replace(/^(?:error: |\* )+/, "")
    .replace(/urn:pulumi:\S+/g, "")
    .replace(/,?\s*RequestI[Dd]:?\s*[\w-]+,?/g, "")
    .replace(/\s+/g, " ")
    .trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** `no-capacity` for the table's errors of `backend` (any cloud's when unknown), else `error`. */
export function classifyProviderError(backend: string, text: string): ClassifiedError {
  const rules = CAPACITY_ERRORS.filter((r) => r.backend === backend);
  for (const r of rules.length ? rules : CAPACITY_ERRORS) {
    if (r.pattern.test(text)) return { kind: "no-capacity", code: r.code, message: shortProviderMessage(text) };
  }
  return { kind: "error", code: null, message: shortProviderMessage(text) };
}

/**
 * A provider error that is a missing account setup, not a property of the offer: a clear coded
 * error with the fix, instead of the provider's text (pure; null for anything else).
 */
export function accountSetupError(backend: string, text: string): Diagnostic | null {
  if (backend !== "azure") return null;
  const ns = /MissingSubscriptionRegistration[\s\S]*?namespace '([\w.]+)'/.exec(text)?.[1] ?? (/MissingSubscriptionRegistration/.test(text) ? "Microsoft.DevTestLab" : null);
  if (ns) {
    return {
      code: "E6450",
      severity: "error",
      message: `the Azure subscription is not registered for the resource provider ${ns}${ns === "Microsoft.DevTestLab" ? " (the auto-shutdown schedule that deallocates the VM at max_duration)" : ""}`,
      hint: `register it once per subscription: az provider register --namespace ${ns} (then dstack up again)`,
    };
  }
  if (/AuthorizationFailed[\s\S]*Microsoft\.Authorization\/roleAssignments\/write/.test(text)) {
    return {
      code: "E6451",
      severity: "error",
      message: "the Azure identity dstack runs as may not assign roles: a run with max_duration over 24 h needs one on its VM (the VM deallocates itself at the deadline)",
      hint: "run as an Owner, User Access Administrator or Role Based Access Control Administrator, or keep max_duration at 24h or less (a daily auto-shutdown schedule then deallocates the VM)",
    };
  }
  return null;
}
