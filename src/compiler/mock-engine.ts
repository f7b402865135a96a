/**
 * Runs any backend program under Pulumi's mock engine (`pulumi.runtime.setMocks`) and returns
 * the resource graph: what infra teams review before anything is provisioned. No provider
 * plugin, no credentials and no network: every lookup the cloud programs use is answered with
 * a plausible canned value (an unknown lookup is an error, so a new lookup cannot slip past
 * the mocks), and secret inputs are shown as "[secret]", never in clear.
 *
 * The mock engine is process-global state: calls are serialized here, one program at a time.
 */
import * as pulumi from "@pulumi/pulumi";
import { DstackError } from "../diagnostics";
import { offerJson, type OfferJson } from "../offers/offer";
import { awsMocks } from "./backends/aws.mocks";
import { azureMocks } from "./backends/azure.mocks";
import { hex, NOT_FOUND, type MockCallAnswer, type MockContext, type PackageMocks } from "./backends/cloud/mocks";
import { prebuiltMocks } from "./backends/cloud/prebuilt.mocks";
import { gcpMocks } from "./backends/gcp.mocks";
import type { BackendProgram, EmitOptions } from "./backends/program";
import type { Plan } from "./plan";

export const SECRET = "[secret]";
/** A stack output that only a real provider computes (e.g. a dynamic resource's outputs). */
export const UNKNOWN = "[unknown under mocks]";

/** One resource as registered with the engine (after transformations such as the tags policy). */
export interface GraphResource {
  /** Pulumi type token, e.g. `aws:ec2/instance:Instance`. */
  type: string;
  name: string;
  /** Name of the parent resource, or null for resources at the top of the stack. */
  parent: string | null;
  /** False for component resources. */
  custom: boolean;
  /** Inputs as sent to the engine; secret values are "[secret]". */
  inputs: Record<string, unknown>;
  /** Dotted paths (`metadata.user-data`, `registry.password`) of secret inputs. */
  secret_inputs: string[];
  /** Resource options that matter for review: protect, retainOnDelete, an existing resource read by id. */
  options?: { protect?: boolean; retain_on_delete?: boolean; read_id?: string };
}

export interface GraphLookup {
  /** Invoke token, e.g. `aws:ec2/getAmi:getAmi`. */
  token: string;
  args: Record<string, unknown>;
}

export interface ResourceGraph {
  backend: string;
  offer: OfferJson;
  resources: GraphResource[];
  lookups: GraphLookup[];
  /** Stack outputs; secret ones are "[secret]". */
  outputs: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Secrets in mock inputs: the mock monitor keeps them as {[sigKey]: secretSig, value}.

function isSecretWrapper(v: unknown): v is { value: unknown } {
  return (
    typeof v === "object" &&
    v !== null &&
    (v as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
  );
}

/** Replaces secret values by "[secret]" and lists their paths. Exported for tests. */
export function redactSecrets(value: unknown, path: string, secrets: string[]): unknown {
  if (isSecretWrapper(value)) {
    secrets.push(path || "(root)");
    return SECRET;
  }
  if (Array.isArray(value)) return value.map((v, i) => redactSecrets(v, path ? `${path}[${i}]` : `[${i}]`, secrets));
  if (pulumi.Resource.isInstance(value)) return "[resource]";
  if (pulumi.asset.Asset.isInstance(value) || pulumi.asset.Archive.isInstance(value)) return "[asset]";
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined) continue;
      const p = path ? `${path}.${k}` : k;
      // Dynamic providers carry their serialized code: not for review, and huge.
      if (k === "__provider" && typeof v === "string") out[k] = "[dynamic provider]";
      else out[k] = redactSecrets(v, p, secrets);
    }
    return out;
  }
  return value;
}

function unwrapSecrets(value: unknown): unknown {
  if (isSecretWrapper(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (typeof value === "object" && value !== null && !pulumi.Resource.isInstance(value) && !pulumi.asset.Asset.isInstance(value) && !pulumi.asset.Archive.isInstance(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = unwrapSecrets(v);
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Canned answers: each backend's live beside its program; chosen by the token's package.

const MOCKS = new Map<string, PackageMocks>([
  ["aws", awsMocks],
  ["gcp", gcpMocks],
  ["azure-native", azureMocks],
  ["docker", prebuiltMocks],
]);

/** The canned answers of a token's package (`aws:ec2/getAmi:getAmi` → aws). */
function mocksOf(token: string): PackageMocks | undefined {
  return MOCKS.get(token.split(":")[0]);
}

/** The canned answer of a lookup (invoke), or undefined when it has none. Exported for tests. */
export function mockCall(token: string, args: Record<string, unknown>, ctx: MockContext): MockCallAnswer {
  return mocksOf(token)?.call(token, args, ctx);
}

/** Canned state of a new resource: its inputs plus the outputs a provider would compute. Exported for tests. */
export function mockState(type: string, name: string, inputs: Record<string, unknown>, ctx: MockContext): { id: string; state: Record<string, unknown> } {
  const known = mocksOf(type)?.state(type, name, inputs, ctx);
  if (known) return known;
  if (type.startsWith("pulumi:providers:")) return { id: `${name}-provider-id`, state: inputs };
  return { id: `${name}-${hex(type + name, 8)}`, state: { ...inputs, name: inputs.name ?? name } };
}

// ---------------------------------------------------------------------------------------------

interface Constructed {
  resource: pulumi.Resource;
  type: string;
  name: string;
  parent: pulumi.Resource | undefined;
  opts: pulumi.CustomResourceOptions;
}

function whenKnown<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => {
    o.apply((v) => {
      resolve(v);
      return v;
    });
  });
}

async function resolveOutputs(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    const secret = await pulumi.isSecret(value);
    const v = await whenKnown(value);
    return secret ? SECRET : resolveOutputs(v);
  }
  if (value instanceof Promise) return resolveOutputs(await value);
  if (Array.isArray(value)) return Promise.all(value.map(resolveOutputs));
  if (pulumi.Resource.isInstance(value)) return "[resource]";
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = await resolveOutputs((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * The Pulumi SDK captures `new Error().stack` for every promise it makes (to report leaks):
 * most of a mock run's time at the default depth. A shallow stack while the program runs under
 * mocks (the full one with DSTACK_DEBUG=1) keeps a compile fast; restored afterwards.
 */
async function withShallowStacks<T>(fn: () => Promise<T>): Promise<T> {
  if (process.env.DSTACK_DEBUG === "1") return fn();
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 1;
  try {
    return await fn();
  } finally {
    Error.stackTraceLimit = saved;
  }
}

/** Runs `program(plan, opts)` under mocks and returns its resource graph. */
export interface MockOptions {
  /** Image tags the mocked registries hold. */
  existingImageTags?: string[];
  /** Varies the mocked registry tokens (MockContext.tokenSeed). */
  tokenSeed?: string;
  /** Sees each resource's inputs in clear, secrets included (tests comparing two runs of a program). */
  onInputs?: (type: string, name: string, inputs: Record<string, unknown>) => void;
}

export function runUnderMocks(program: BackendProgram, plan: Plan, opts: EmitOptions = {}, mock: MockOptions = {}): Promise<ResourceGraph> {
  const run = queue.then(() => withShallowStacks(() => runOnce(program, plan, opts, mock)));
  queue = run.catch(() => undefined);
  return run;
}

async function runOnce(program: BackendProgram, plan: Plan, opts: EmitOptions, mock: MockOptions): Promise<ResourceGraph> {
  const ctx: MockContext = { region: plan.offer.region, zone: plan.offer.zone, existingImageTags: mock.existingImageTags, tokenSeed: mock.tokenSeed };
  const registered = new Map<string, { custom: boolean; inputs: Record<string, unknown>; secret_inputs: string[]; read_id?: string }>();
  const lookups: GraphLookup[] = [];
  const missing: string[] = [];
  const record = (type: string, name: string, inputs: Record<string, unknown>, custom: boolean, id?: string) => {
    const secrets: string[] = [];
    const redacted = redactSecrets(inputs, "", secrets) as Record<string, unknown>;
    registered.set(`${type}::${name}`, { custom, inputs: redacted, secret_inputs: secrets.sort(), read_id: id || undefined });
  };
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        record(args.type, args.name, args.inputs as Record<string, unknown>, args.custom ?? true, args.id);
        const plain = unwrapSecrets(args.inputs) as Record<string, unknown>;
        mock.onInputs?.(args.type, args.name, plain);
        const { id, state } = mockState(args.type, args.name, plain, ctx);
        // A read (`Resource.get`) returns the existing resource's id.
        return { id: args.id || id, state };
      },
      call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        const plain = unwrapSecrets(args.inputs) as Record<string, unknown>;
        const secrets: string[] = [];
        lookups.push({ token: args.token, args: redactSecrets(args.inputs, "", secrets) as Record<string, unknown> });
        const answer = mockCall(args.token, plain, ctx);
        if (answer === NOT_FOUND) throw new Error(`${args.token}: not found`);
        if (!answer) {
          missing.push(args.token);
          throw new Error(`the mock engine has no answer for ${args.token}`);
        }
        return answer;
      },
    },
    plan.project,
    plan.run_name,
    false,
  );

  const constructed: Constructed[] = [];
  let outputs: Record<string, unknown> = {};
  let failure: unknown;
  try {
    const raw = await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args) => {
        constructed.push({ resource: args.resource, type: args.type, name: args.name, parent: args.opts.parent, opts: args.opts as pulumi.CustomResourceOptions });
        return undefined;
      });
      // An error thrown here would escape as an unhandled rejection of the Stack's initialization:
      // keep it and report it after the run.
      try {
        const out = await program(plan, opts);
        // Outputs only a provider computes are unknown under mocks: say so (instead of dropping them).
        return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, (pulumi.output(v as pulumi.Input<object | string | number | boolean | null>) as pulumi.Output<unknown>).apply((x: unknown) => (x === undefined ? UNKNOWN : x))]));
      } catch (e) {
        failure = e;
        return {};
      }
    });
    // Wait until every constructed resource is registered (some are created inside applies).
    let seen = -1;
    while (seen !== constructed.length) {
      seen = constructed.length;
      await Promise.all(constructed.map((c) => whenKnown(c.resource.urn)));
      await new Promise((r) => setImmediate(r));
    }
    outputs = (await resolveOutputs(raw ?? {})) as Record<string, unknown>;
  } catch (e) {
    failure ??= e;
  }
  if (missing.length) {
    throw new DstackError({
      code: "E3010",
      severity: "error",
      message: `the mock engine has no canned answer for ${[...new Set(missing)].join(", ")}`,
      hint: "add the lookup to the canned answers beside the program (src/compiler/backends/<backend>.mocks.ts)",
    });
  }
  if (failure) {
    const message = failure instanceof Error ? failure.message : String(failure);
    if (failure instanceof DstackError) throw failure;
    throw new DstackError({ code: "E3011", severity: "error", message: `the ${plan.backend} program failed under the mock engine: ${message}`, hint: "set DSTACK_DEBUG=1 for the stack trace" });
  }

  const names = new Map<pulumi.Resource, string>();
  for (const c of constructed) names.set(c.resource, c.name);
  const resources: GraphResource[] = [];
  for (const c of constructed) {
    const r = registered.get(`${c.type}::${c.name}`);
    if (!r) continue;
    const g: GraphResource = {
      type: c.type,
      name: c.name,
      parent: c.parent ? (names.get(c.parent) ?? null) : null,
      custom: r.custom,
      inputs: r.inputs,
      secret_inputs: r.secret_inputs,
    };
    const o: NonNullable<GraphResource["options"]> = {};
    if (c.opts.protect) o.protect = true;
    if (c.opts.retainOnDelete) o.retain_on_delete = true;
    if (r.read_id) o.read_id = r.read_id;
    if (Object.keys(o).length) g.options = o;
    resources.push(g);
  }
  return { backend: plan.backend, offer: offerJson(plan.offer), resources, lookups, outputs };
}

/** Finds resources of a type (tests, reviews). */
export function resourcesOfType(graph: ResourceGraph, type: string): GraphResource[] {
  return graph.resources.filter((r) => r.type === type);
}
