/**
 * The local backend's Pulumi type tokens (pure: no imports, so that the provider plugin, the
 * program and src/runs/cleanup.ts read them cheaply).
 *
 * Resources are served by dstack's provider plugin `pulumi-resource-dstack` (package `dstack`,
 * ./plugin.ts): `dstack:index:LocalImage`, `dstack:index:LocalVolume`,
 * `dstack:index:LocalContainer`. Stacks made before the plugin hold the same resources as
 * nodejs dynamic-provider resources, `pulumi-nodejs:dynamic/dstack:<Kind>`: the program
 * declares those as aliases, so the engine moves them to the plugin in place (no replacement).
 */

/** The provider plugin's package name (`pulumi-resource-dstack`). */
export const LOCAL_PACKAGE = "dstack";

export type LocalKind = "LocalImage" | "LocalVolume" | "LocalContainer";

export const LOCAL_KINDS: readonly LocalKind[] = ["LocalImage", "LocalVolume", "LocalContainer"];

/** `dstack:index:<Kind>`: the type token of a resource served by the plugin. */
export function localType(kind: LocalKind): string {
  return `${LOCAL_PACKAGE}:index:${kind}`;
}

/** `pulumi-nodejs:dynamic/dstack:<Kind>`: the same resource as a dynamic-provider resource (stacks made before the plugin). */
export function legacyLocalType(kind: LocalKind): string {
  return `pulumi-nodejs:dynamic/dstack:${kind}`;
}

/** The kind of a local resource type token, old or new, or null for any other type. */
export function localKindOf(type: string): LocalKind | null {
  for (const k of LOCAL_KINDS) if (type === localType(k) || type === legacyLocalType(k)) return k;
  return null;
}
