/**
 * What every backend's canned answers under the mock engine (src/compiler/mock-engine.ts) are
 * made of. Each cloud program keeps its own answers beside it (`aws.mocks.ts`, `gcp.mocks.ts`,
 * `azure.mocks.ts`, `cloud/prebuilt.mocks.ts`): plausible, deterministic (derived from names),
 * never real.
 */
import { createHash } from "crypto";

export interface MockContext {
  region: string;
  zone: string | null;
  /** Image tags the mocked registries hold (default none: a lookup of a prebuilt tag finds nothing). */
  existingImageTags?: string[];
  /** Varies the registry tokens the lookups answer (a later `up` gets a fresh one). Default none. */
  tokenSeed?: string;
}

/** A lookup that finds nothing: the mock answers with the provider's "not found" error. */
export const NOT_FOUND = Symbol("not found");

/** The canned answer of a lookup (invoke), or undefined when the mocks have none for its token. */
export type MockCallAnswer = Record<string, unknown> | typeof NOT_FOUND | undefined;

/** The canned id and state of a new resource, or undefined when the mocks have none for its type. */
export type MockStateAnswer = { id: string; state: Record<string, unknown> } | undefined;

/** One Pulumi package's canned answers (`aws`, `gcp`, `azure-native`, `docker`). */
export interface PackageMocks {
  /** The answer of a lookup with this token (e.g. `aws:ec2/getAmi:getAmi`). */
  call(token: string, args: Record<string, unknown>, ctx: MockContext): MockCallAnswer;
  /** The state of a new resource of this type (e.g. `aws:ec2/instance:Instance`): its inputs plus the outputs a provider would compute. */
  state(type: string, name: string, inputs: Record<string, unknown>, ctx: MockContext): MockStateAnswer;
}

/** `n` hex digits derived from `seed`. */
export function hex(seed: string, n: number): string {
  return createHash("sha256").update(seed).digest("hex").slice(0, n);
}

/** A public address derived from `seed`: 203.0.113.0/24 is TEST-NET-3 (RFC 5737), never a real host. */
export function ipv4(seed: string): string {
  return `203.0.113.${(parseInt(hex(seed, 2), 16) % 250) + 2}`;
}

/** The values of the lookup filter `name` (`[{name, values}]`, as AWS lookups take them). */
export function filterValues(args: Record<string, unknown>, name: string): string[] {
  const filters = (args.filters ?? []) as { name: string; values: string[] }[];
  return filters.find((f) => f.name === name)?.values ?? [];
}
