/**
 * dstack's backend names for catalog providers and for what users write: gpuhunt names its
 * Lambda catalog `lambdalabs`, dstack calls the backend `lambda`.
 */

/** gpuhunt provider (file) name → dstack backend name. */
const BACKEND_OF_PROVIDER: Record<string, string> = { lambdalabs: "lambda" };

/** dstack backend name for a catalog file's provider name (`lambdalabs` → `lambda`). */
export function backendOfProvider(provider: string): string {
  const p = provider.toLowerCase();
  return BACKEND_OF_PROVIDER[p] ?? p;
}

/** Normalizes a backend name a user wrote (`Lambda`, `lambdalabs`) to dstack's. */
export function normalizeBackendName(name: string): string {
  return backendOfProvider(name.trim());
}
