/**
 * The `kubernetes` backend's entry of config.yml, in the spirit of dstack's own:
 *
 *   backends:
 *     - type: kubernetes
 *       kubeconfig: {filename: ~/.kube/config}
 *       context: my-cluster        # optional: the kubeconfig's current context otherwise
 *       namespace: dstack          # optional: default `default`
 *       ssh_port: 10022            # optional: the port the run's sshd listens on in its pod
 *       price: 1.2                 # optional: dollars per node-hour (default 0)
 *       image: dstack-base:bookworm   # optional: the image of runs without `image:`
 *       storage_class: standard    # optional: the volumes' StorageClass (the cluster's default otherwise)
 *       volume_size: 100           # optional: GB of a volume's claim (default 100)
 *
 * Pure: parsed from the entry's settings (src/offers/backends-config.ts reads the file), so the
 * offers, the program and the runs read the same values. Errors are E7001 (exit 2).
 */
import * as os from "os";
import * as path from "path";
import { ConfigError } from "../diagnostics";
import { MAX_PRICE } from "../config/bounds";

export interface KubeSettings {
  /** Absolute path of the kubeconfig file. */
  kubeconfig: string;
  /** The kubeconfig context to use; null: its current context. */
  context: string | null;
  namespace: string;
  /** The sshd port inside the run's pod (reached through the API server's port-forward). */
  ssh_port: number;
  /** Dollars per node-hour. */
  price: number;
  /** The image of runs without `image:`; null: dstack's default image. */
  image: string | null;
  storage_class: string | null;
  /** GB of each volume's PersistentVolumeClaim. */
  volume_size: number;
}

export const DEFAULT_KUBE_SSH_PORT = 10022;
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function expandHome(p: string, env: NodeJS.ProcessEnv): string {
  return p === "~" || p.startsWith("~/") ? path.join(env.HOME || os.homedir(), p.slice(1)) : p;
}

/** The kubernetes entry's settings, checked; `file` is config.yml (for the diagnostics). */
export function parseKubeSettings(raw: Record<string, unknown>, file?: string, env: NodeJS.ProcessEnv = process.env): KubeSettings {
  const bad = (message: string, hint: string): never => {
    throw new ConfigError({ code: "E7001", severity: "error", message: `the kubernetes backend in config.yml: ${message}`, hint, file });
  };
  const kc = raw.kubeconfig;
  const filename = kc && typeof kc === "object" && !Array.isArray(kc) ? (kc as Record<string, unknown>).filename : typeof kc === "string" ? kc : undefined;
  if (typeof filename !== "string" || !filename.trim()) {
    if (kc && typeof kc === "object" && "data" in (kc as object)) bad("kubeconfig.data is not supported", "save the kubeconfig to a file and write `kubeconfig: {filename: <path>}`");
    bad("`kubeconfig: {filename: ...}` is required", "write `kubeconfig: {filename: ~/.kube/config}`");
  }
  const base = file ? path.dirname(file) : process.cwd();
  const kubeconfig = path.resolve(base, expandHome((filename as string).trim(), env));
  const str = (k: string): string | null => {
    const v = raw[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== "string" || !v.trim()) bad(`${k} must be a non-empty string, not ${JSON.stringify(v)}`, `write \`${k}: <name>\` or remove it`);
    return (v as string).trim();
  };
  const num = (k: string, min: number, max: number, dflt: number, integer: boolean): number => {
    const v = raw[k];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v)))
      bad(`${k} must be a ${integer ? "whole " : ""}number from ${min} to ${max}, not ${JSON.stringify(v)}`, `write \`${k}: ${dflt}\` or remove it`);
    return v as number;
  };
  const namespace = str("namespace") ?? "default";
  if (!NAME.test(namespace) || namespace.length > 63) bad(`namespace ${JSON.stringify(namespace)} is not a Kubernetes namespace name`, "use lowercase letters, digits and -");
  const storageClass = str("storage_class");
  return {
    kubeconfig,
    context: str("context"),
    namespace,
    ssh_port: num("ssh_port", 1, 65535, DEFAULT_KUBE_SSH_PORT, true),
    price: num("price", 0, MAX_PRICE, 0, false),
    image: str("image"),
    storage_class: storageClass,
    volume_size: num("volume_size", 1, 65536, 100, true),
  };
}
