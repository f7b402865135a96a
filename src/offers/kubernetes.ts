/**
 * The `kubernetes` backend's offers: one per node of the configured cluster, read through the
 * API server with @kubernetes/client-node (`GET /api/v1/nodes`), with the node's allocatable
 * CPU, memory and ephemeral storage, and its GPUs (the `nvidia.com/gpu` and `amd.com/gpu`
 * extended resources, named by the product labels of NVIDIA's and AMD's device plugins).
 * The price is config.yml's `price` per node-hour (default 0). Cordoned nodes offer nothing.
 * For a run, an offer is the slice of its node the run asks for (`fitNodeOffer`).
 *
 * `nodeOffer` is pure; `kubernetesOffers` asks the cluster (the one I/O of this file).
 */
import type { CpuArch, GpuVendor } from "../config/runspec";
import type { Diagnostic } from "../diagnostics";
import { backendSettings, readBackendsConfig, type BackendsConfigOptions } from "./backends-config";
import { vendorOfGpu } from "./gpus";
import { requirementsOf, type OfferRequest } from "./requirements";
import { parseKubeSettings, type KubeSettings } from "./kubernetes-settings";
import type { Offer } from "./offer";

/** The parts of a V1Node an offer is made from. */
export interface KubeNode {
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: { unschedulable?: boolean };
  status?: { allocatable?: Record<string, string>; nodeInfo?: { architecture?: string } };
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A Kubernetes quantity (`1500m`, `16Gi`, `1e3`) as a number; NaN when it is none (pure). */
export function parseQuantity(q: string | undefined): number {
  if (q === undefined) return NaN;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/.exec(q.trim());
  if (!m) return NaN;
  const unit = m[2] ?? "";
  return Number(m[1]) * (BINARY[unit] ?? DECIMAL[unit] ?? NaN);
}

const round2 = (n: number) => Math.floor(n * 100) / 100;

/** A GPU product label (`NVIDIA-A100-SXM4-80GB`, `Tesla-T4`, `NVIDIA-GeForce-RTX-4090`) as dstack's GPU name, or null (pure). */
export function gpuNameOfProduct(product: string | undefined): string | null {
  if (!product) return null;
  const parts = product.replace(/_/g, "-").split("-").filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    for (let j = Math.min(parts.length, i + 3); j > i; j--) {
      const name = parts.slice(i, j).join("");
      if (vendorOfGpu(name) !== null && !/^(NVIDIA|AMD|Tesla|GeForce|Instinct)$/i.test(name)) return name;
    }
  }
  return null;
}

/** One node's offer (pure); null for a cordoned node or one without allocatable resources. */
export function nodeOffer(node: KubeNode, s: Pick<KubeSettings, "price">, region: string): Offer | null {
  const name = node.metadata?.name;
  const alloc = node.status?.allocatable ?? {};
  if (!name || node.spec?.unschedulable) return null;
  const cpu = parseQuantity(alloc.cpu);
  const memory = parseQuantity(alloc.memory);
  if (!(cpu > 0) || !(memory > 0)) return null;
  const labels = node.metadata?.labels ?? {};
  const disk = parseQuantity(alloc["ephemeral-storage"]);
  const nvidia = parseQuantity(alloc["nvidia.com/gpu"]);
  const amd = parseQuantity(alloc["amd.com/gpu"]);
  let gpuCount = 0;
  let vendor: GpuVendor | null = null;
  let gpuName: string | null = null;
  let gpuMemory: number | null = null;
  if (nvidia > 0) {
    gpuCount = Math.floor(nvidia);
    vendor = "nvidia";
    gpuName = gpuNameOfProduct(labels["nvidia.com/gpu.product"]) ?? labels["nvidia.com/gpu.product"] ?? "unknown";
    const mib = Number(labels["nvidia.com/gpu.memory"]);
    gpuMemory = Number.isFinite(mib) && mib > 0 ? Math.round(mib / 1024) : null;
  } else if (amd > 0) {
    gpuCount = Math.floor(amd);
    vendor = "amd";
    const product = labels["amd.com/gpu.product-name"] ?? labels["amd.com/gpu.family"];
    gpuName = gpuNameOfProduct(product) ?? product ?? "unknown";
    const vram = parseQuantity(labels["amd.com/gpu.vram"]);
    gpuMemory = vram > 0 ? Math.round(vram / 2 ** 30) : null;
  }
  const arch = labels["kubernetes.io/arch"] ?? node.status?.nodeInfo?.architecture ?? "amd64";
  const cpuArch: CpuArch = arch === "arm64" ? "arm" : "x86";
  return {
    backend: "kubernetes",
    region: labels["topology.kubernetes.io/region"] ?? region,
    zone: labels["topology.kubernetes.io/zone"] ?? null,
    instance_type: name,
    price: s.price,
    spot: false,
    cpu: round2(cpu),
    cpu_arch: cpuArch,
    memory: round2(memory / 2 ** 30),
    disk: disk > 0 ? round2(disk / 2 ** 30) : null,
    gpu_count: gpuCount,
    gpu_name: gpuCount > 0 ? gpuName : null,
    gpu_memory: gpuCount > 0 ? gpuMemory : null,
    gpu_vendor: vendor,
    flags: [],
    provider_data: { node: name },
  };
}

/**
 * A node's offer as a run would get it (pure): a pod takes a slice of its node, so the CPUs,
 * memory, GPUs and disk are the run's upper bounds where it sets them and the node has that
 * much, else the node's. A node with less than a bound's lower end keeps its own figure (and so
 * fails the match, with the usual explanation).
 */
export function fitNodeOffer(o: Offer, spec: OfferRequest): Offer {
  const req = requirementsOf(spec);
  const fit = (have: number, r: { min: number | null; max: number | null } | null) => (r && r.max !== null && r.max <= have && (r.min === null || r.min <= have) ? r.max : have);
  // GPUs are the node's to share: a run that asks for some gets that many (its upper bound, else
  // its lower), not all of them; one that asks for none sees the node's (and its pod requests none)
  const asked = req.gpu.count.max ?? ((req.gpu.count.min ?? 0) > 0 ? req.gpu.count.min! : o.gpu_count);
  const gpuCount = o.gpu_count > 0 ? (asked <= o.gpu_count && (req.gpu.count.min ?? 0) <= o.gpu_count ? asked : o.gpu_count) : 0;
  return {
    ...o,
    cpu: fit(o.cpu, req.cpu),
    memory: fit(o.memory, req.memory),
    disk: o.disk !== null ? fit(o.disk, req.disk) : null,
    gpu_count: gpuCount,
    gpu_name: gpuCount > 0 ? o.gpu_name : null,
    gpu_memory: gpuCount > 0 ? o.gpu_memory : null,
    gpu_vendor: gpuCount > 0 ? o.gpu_vendor : null,
    provider_data: { ...o.provider_data, node_cpu: o.cpu, node_memory: o.memory, node_gpu_count: o.gpu_count },
  };
}

/** The configured kubernetes backend's settings, or null when config.yml has none (throws E7001 on a bad entry). */
export function configuredKube(opts: BackendsConfigOptions = {}): KubeSettings | null {
  const cfg = readBackendsConfig(opts);
  if (!cfg.backends.some((b) => b.type === "kubernetes")) return null;
  return parseKubeSettings(backendSettings("kubernetes", opts), cfg.path, opts.env);
}

/** A client of the cluster the settings name (@kubernetes/client-node's KubeConfig). */
export async function kubeClientConfig(s: KubeSettings): Promise<import("@kubernetes/client-node").KubeConfig> {
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(s.kubeconfig);
  if (s.context) kc.setCurrentContext(s.context);
  return kc;
}

export interface KubeOffers {
  offers: Offer[];
  warnings: Diagnostic[];
}

/**
 * Offers of the configured cluster (none when kubernetes is not configured). A cluster that
 * does not answer gives no offers and one warning (E7002), so the other backends still offer.
 */
export async function kubernetesOffers(opts: BackendsConfigOptions & { spec?: OfferRequest } = {}): Promise<KubeOffers> {
  const s = configuredKube(opts);
  if (!s) return { offers: [], warnings: [] };
  try {
    const kc = await kubeClientConfig(s);
    const k8s = await import("@kubernetes/client-node");
    const api = kc.makeApiClient(k8s.CoreV1Api);
    const list = await api.listNode();
    const region = kc.getCurrentContext() || "kubernetes";
    const spec = opts.spec;
    const offers = list.items
      .map((n) => nodeOffer(n as KubeNode, s, region))
      .filter((o): o is Offer => o !== null)
      .map((o) => (spec ? fitNodeOffer(o, spec) : o));
    return { offers, warnings: [] };
  } catch (e) {
    return {
      offers: [],
      warnings: [
        {
          code: "E7002",
          severity: "warning",
          message: `the kubernetes cluster of ${s.kubeconfig}${s.context ? ` (context ${s.context})` : ""} did not list its nodes: ${kubeErrorText(e)}`,
          hint: "check the kubeconfig and that the API server answers (`kubectl --kubeconfig <file> get nodes`)",
        },
      ],
    };
  }
}

/** A client-node error as one line (its HTTP status and the API's message when there is one). */
export function kubeErrorText(e: unknown): string {
  const err = e as { code?: number; body?: unknown; message?: string };
  let body = "";
  if (typeof err.body === "string") {
    try {
      body = (JSON.parse(err.body) as { message?: string }).message ?? err.body;
    } catch {
      body = err.body;
    }
  }
  return (body || err.message || String(e)).split("\n")[0].slice(0, 300);
}
