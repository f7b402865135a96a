/**
 * dstack's provider for the local backend: one Pulumi resource provider (the interface of
 * `@pulumi/pulumi/provider`) that serves the three resource types of ./tokens.ts by calling
 * the providers of ./image.ts, ./volume.ts and ./container.ts, which hold the Docker logic.
 * ./plugin.ts serves it as the plugin `pulumi-resource-dstack`.
 *
 * The gRPC server accepts secrets: inputs arrive with Pulumi's secret envelopes
 * (`{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value}`), which are
 * opened here (the resource providers work on plain values, as they did as dynamic providers),
 * and an output whose input was (or held) a secret goes back as a secret.
 *
 * Type tokens: both the plugin's (`dstack:index:<Kind>`) and, for state made before the
 * plugin, the dynamic-provider ones (`pulumi-nodejs:dynamic/dstack:<Kind>`); old outputs may
 * still carry the dynamic provider's `__provider` (its serialized code), which is dropped.
 */
import type * as pulumi from "@pulumi/pulumi";
import type * as provider from "@pulumi/pulumi/provider";
import { containerProvider } from "./container";
import { imageProvider } from "./image";
import { LOCAL_KINDS, localKindOf, localType, type LocalKind } from "./tokens";
import { volumeProvider } from "./volume";

/** The key of Pulumi's serialized-value signature, and the signature of a secret. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

type Props = Record<string, unknown>;

function isSecret(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Props)[SIG_KEY] === SECRET_SIG;
}

/** A value with every secret envelope opened (pure). */
export function revealSecrets(v: unknown): unknown {
  if (isSecret(v)) return revealSecrets(v.value);
  if (Array.isArray(v)) return v.map(revealSecrets);
  if (typeof v !== "object" || v === null) return v;
  const out: Props = {};
  for (const [k, x] of Object.entries(v)) out[k] = revealSecrets(x);
  return out;
}

function holdsSecret(v: unknown): boolean {
  if (isSecret(v)) return true;
  if (Array.isArray(v)) return v.some(holdsSecret);
  if (typeof v === "object" && v !== null) return Object.values(v).some(holdsSecret);
  return false;
}

/** Top-level keys of props that are (or hold) secrets. */
export function secretKeys(props: Props | undefined): string[] {
  return Object.entries(props ?? {}).filter(([, v]) => holdsSecret(v)).map(([k]) => k);
}

/** outs with the given keys sealed as secrets again (pure). */
export function sealSecrets(outs: Props | undefined, keys: string[]): Props | undefined {
  if (!outs || keys.length === 0) return outs;
  const sealed: Props = { ...outs };
  for (const k of keys) if (k in sealed && !isSecret(sealed[k])) sealed[k] = { [SIG_KEY]: SECRET_SIG, value: sealed[k] };
  return sealed;
}

/** Plain props, without the dynamic provider's serialized code. */
function plain<T>(props: unknown): T {
  const out = revealSecrets(props ?? {}) as Props;
  delete out.__provider;
  return out as T;
}

/** What ./image.ts, ./volume.ts and ./container.ts export: dynamic-provider-shaped objects. */
type ResourceProvider = pulumi.dynamic.ResourceProvider;

const PROVIDERS: Record<LocalKind, ResourceProvider> = {
  LocalImage: imageProvider as ResourceProvider,
  LocalVolume: volumeProvider as ResourceProvider,
  LocalContainer: containerProvider as ResourceProvider,
};

/** The type token of a URN (`urn:pulumi:<stack>::<project>::<type>::<name>`; a parent's type comes first, `$`-joined). */
export function typeOfUrn(urn: string): string {
  const type = urn.split("::")[2] ?? "";
  return type.split("$").pop() ?? type;
}

function providerFor(urn: string): ResourceProvider {
  const kind = localKindOf(typeOfUrn(urn));
  if (!kind) throw new Error(`pulumi-resource-dstack: unknown resource type in ${urn} (known: ${LOCAL_KINDS.map(localType).join(", ")})`);
  return PROVIDERS[kind];
}

/** The local backend's provider (see the file comment). */
export function localProvider(version: string): provider.Provider {
  return {
    version,

    async check(urn, olds, news) {
      const p = providerFor(urn);
      const secrets = secretKeys(news);
      if (!p.check) return { inputs: news };
      const r = await p.check(plain(olds), plain(news));
      return { inputs: sealSecrets(r.inputs as Props | undefined, secrets) ?? news, failures: r.failures };
    },

    async diff(id, urn, olds, news) {
      const p = providerFor(urn);
      if (!p.diff) return {};
      return p.diff(id, plain(olds), plain(news));
    },

    async create(urn, inputs) {
      const r = await providerFor(urn).create(plain(inputs));
      return { id: r.id, outs: sealSecrets(r.outs as Props | undefined, secretKeys(inputs)) };
    },

    async read(id, urn, props) {
      const p = providerFor(urn);
      if (!p.read) return { id, props };
      const r = await p.read(id, plain(props));
      return { id: r.id, props: sealSecrets(r.props as Props | undefined, secretKeys(props)) };
    },

    async update(id, urn, olds, news) {
      const p = providerFor(urn);
      if (!p.update) return { outs: news };
      const r = await p.update(id, plain(olds), plain(news));
      return { outs: sealSecrets(r.outs as Props | undefined, [...new Set([...secretKeys(news), ...secretKeys(olds)])]) };
    },

    async delete(id, urn, props) {
      const p = providerFor(urn);
      if (p.delete) await p.delete(id, plain(props));
    },
  };
}
