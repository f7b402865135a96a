/**
 * GPU-ready OS images of each cloud, found by lookup at deployment time (never pinned ids):
 * - AWS: the newest Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04), owner amazon,
 *   for the instance's architecture (`aws.ec2.getAmi` with filters).
 * - GCP: the newest image of a Deep Learning VM family (`gcp.compute.getImage` by family);
 *   TPU VMs use a TPU runtime version instead.
 * - Azure: NVIDIA's GPU-optimized VMI from the marketplace, version `latest` (Azure resolves it).
 * `os_image` in the backend settings overrides each.
 * Also the run container's default image on every cloud (`CLOUD_DEFAULT_IMAGE`).
 */
import type { CpuArch } from "../../../config/runspec";

/**
 * The container image of a cloud run whose configuration names none (no `image:`, no
 * `docker: true`): dstack's CUDA base image, pulled on the instance by boot.sh.
 */
export const CLOUD_DEFAULT_IMAGE = "dstackai/base:py3.12-0.7-cuda-12.1";

/**
 * The container image of a cloud run with `docker: true` (dstack's `DSTACK_DIND_IMAGE`): Docker
 * and NVIDIA's container toolkit inside, its daemon started by `start-dockerd`.
 */
export const CLOUD_DIND_IMAGE = "dstackai/dind";

/** Python versions dstack's base image is published for. */
export const CLOUD_IMAGE_PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"];

/**
 * The default image of a cloud run for the configuration's `python` and `nvcc` (dstack's own
 * rule: `dstackai/base:py<python>-<version>-cuda-12.1`, `-devel` with nvcc, which holds the CUDA
 * compiler). A python the image is not published for keeps the default (3.12).
 */
export function cloudDefaultImage(python: string | null, nvcc: boolean, docker = false): string {
  if (docker) return CLOUD_DIND_IMAGE;
  const py = python && CLOUD_IMAGE_PYTHONS.includes(python) ? python : "3.12";
  return `dstackai/base:py${py}-0.7-cuda-12.1${nvcc ? "-devel" : ""}`;
}

export const AWS_DLAMI_OWNER = "amazon";

export function awsDlamiNamePattern(arch: CpuArch): string {
  return arch === "arm"
    ? "Deep Learning ARM64 Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *"
    : "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *";
}

export function awsArchitecture(arch: CpuArch): string {
  return arch === "arm" ? "arm64" : "x86_64";
}

export const GCP_DLVM_PROJECT = "deeplearning-platform-release";
export const GCP_DLVM_FAMILY = "common-cu128-ubuntu-2204-nvidia-570";
/** Boot disk floor with an `os_image` (no lookup): the Deep Learning VM images' own size. */
export const GCP_MIN_BOOT_DISK_GB = 50;
/** OS disk floor on Azure: at least the marketplace GPU images' OS disk (Azure refuses a smaller one). */
export const AZURE_MIN_OS_DISK_GB = 64;
/** Images for CPU-only machines: the same family works (drivers unused), kept for one code path. */

/** TPU runtime version by TPU generation (the accelerator type's prefix). */
export function gcpTpuRuntimeVersion(acceleratorType: string): string {
  const gen = acceleratorType.split("-")[0];
  switch (gen) {
    case "v5litepod":
      return "v2-alpha-tpuv5-lite";
    case "v5p":
      return "v2-alpha-tpuv5";
    case "v6e":
      return "v2-alpha-tpuv6e";
    default:
      return "tpu-ubuntu2204-base";
  }
}

/** A zone of the region offering the TPU generation (the catalog gives TPU rows per region). */
export function gcpTpuZone(region: string, acceleratorType: string): string {
  const gen = acceleratorType.split("-")[0];
  const known: Record<string, Record<string, string>> = {
    "us-central1": { v2: "us-central1-b", v3: "us-central1-a", v5litepod: "us-central1-a", v5p: "us-central1-a", v6e: "us-central1-b" },
    "us-east1": { v3: "us-east1-d", v5litepod: "us-east1-c", v6e: "us-east1-d" },
    "us-east5": { v5p: "us-east5-a", v6e: "us-east5-b" },
    "us-west1": { v5litepod: "us-west1-c" },
    "us-south1": { v5litepod: "us-south1-a", v6e: "us-south1-a" },
    "europe-west4": { v2: "europe-west4-a", v3: "europe-west4-a", v5litepod: "europe-west4-b", v5p: "europe-west4-b", v6e: "europe-west4-a" },
    "asia-east1": { v2: "asia-east1-c", v5litepod: "asia-east1-c", v6e: "asia-east1-c" },
    "asia-northeast1": { v5litepod: "asia-northeast1-b", v6e: "asia-northeast1-b" },
    "asia-southeast1": { v5litepod: "asia-southeast1-b" },
    "europe-west1": { v5litepod: "europe-west1-b" },
    "europe-west3": { v5litepod: "europe-west3-b" },
    "europe-north1": { v5litepod: "europe-north1-c" },
    "northamerica-northeast1": { v5litepod: "northamerica-northeast1-c" },
    "southamerica-west1": { v5litepod: "southamerica-west1-a" },
  };
  return known[region]?.[gen] ?? `${region}-a`;
}

/** GPU accelerator type to attach to an N1 machine (other GCP GPU machine families have them built in). */
export function gcpN1AcceleratorType(gpuName: string): string | null {
  const map: Record<string, string> = {
    T4: "nvidia-tesla-t4",
    V100: "nvidia-tesla-v100",
    P100: "nvidia-tesla-p100",
    P4: "nvidia-tesla-p4",
    K80: "nvidia-tesla-k80",
  };
  return map[gpuName.toUpperCase()] ?? null;
}

export interface AzureImageReference {
  publisher: string;
  offer: string;
  sku: string;
  version: string;
}

/** NVIDIA GPU-Optimized VMI (Ubuntu, drivers, Docker and the NVIDIA container toolkit preinstalled). */
export const AZURE_NVIDIA_IMAGE: AzureImageReference = {
  publisher: "nvidia",
  offer: "ngc_azure_17_11",
  sku: "ngc-base-version-24_03_4_gen2",
  version: "latest",
};

/**
 * Plain Ubuntu 22.04 (gen2) for the NVadsA10 v5 sizes: their fractional A10 needs NVIDIA's GRID
 * driver, which the NVIDIA GPU driver extension installs (the NGC image's datacenter driver
 * does not drive a partitioned A10).
 */
export const AZURE_UBUNTU_IMAGE: AzureImageReference = {
  publisher: "Canonical",
  offer: "0001-com-ubuntu-server-jammy",
  sku: "22_04-lts-gen2",
  version: "latest",
};

/** Microsoft's Ubuntu-HPC 22.04 image with AMD's ROCm driver, for the ND MI300X v5 sizes. */
export const AZURE_ROCM_IMAGE: AzureImageReference = {
  publisher: "microsoft-dsvm",
  offer: "ubuntu-hpc",
  sku: "2204-rocm",
  version: "latest",
};

/** Azure sizes whose GPU is a partitioned A10 (NVadsA10 v5): the GRID driver, through the driver extension. */
export function azureNeedsGridDriver(vmSize: string): boolean {
  return /^Standard_NV\d+adm?s_A10_v5$/i.test(vmSize);
}

/** `publisher:offer:sku:version` → image reference (the `az vm create --image` URN form). */
export function parseAzureImageUrn(urn: string): AzureImageReference | null {
  const parts = urn.split(":");
  if (parts.length !== 4 || parts.some((p) => !p)) return null;
  return { publisher: parts[0], offer: parts[1], sku: parts[2], version: parts[3] };
}

/** Marketplace images of third parties (not Microsoft's or Canonical's) carry a purchase plan. */
export function azureImageNeedsPlan(img: AzureImageReference): boolean {
  return !["canonical", "microsoftwindowsserver", "microsoft-dsvm", "openlogic", "redhat", "debian"].includes(img.publisher.toLowerCase());
}
