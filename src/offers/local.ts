/**
 * The `local` backend's offer: this machine. CPU count and architecture from `os`, memory from
 * `os.totalmem()`, GPUs from `nvidia-smi` when present. Price 0, never spot.
 *
 * Disk: the total size of the file system that holds Docker's data root (asked of the Docker
 * engine over its unix socket, falling back to /var/lib/docker or /), as an instance's disk is
 * its size, not what is left of it: a run's container writes into that file system and can
 * grow to fill it. So dstack's default `disk: 100GB..` matches a machine whose disk is that
 * large whatever is free, and a request larger than the disk finds no local offer. What is free
 * now is `provider_data.disk_free` (GB); `localDiskWarning()` says when it is below the
 * request (a run is not refused for it: images and other runs' data come and go).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { homePaths, writeFileAtomic } from "../paths";
import type { CpuArch, GpuVendor } from "../config/runspec";
import type { Offer } from "./offer";
import { localMachinePrice } from "./backends-config";

const GiB = 1024 ** 3;

export interface LocalOfferOptions {
  /** Returns `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader` output, or null when absent. */
  nvidiaSmi?: () => Promise<string | null>;
  /** Returns Docker's data root (`DockerRootDir`), or null when the engine does not answer. */
  dockerRootDir?: () => Promise<string | null>;
  /** Total and free bytes of the file system holding a folder (default: statfs). */
  diskBytes?: (dir: string) => { total: number; free: number };
  /** Docker socket (default from DOCKER_HOST `unix://…`, else /var/run/docker.sock). */
  dockerSocket?: string;
  env?: NodeJS.ProcessEnv;
}

/** The local machine as an offer. */
export async function localOffer(opts: LocalOfferOptions = {}): Promise<Offer> {
  const env = opts.env ?? process.env;
  const socket = opts.dockerSocket ?? dockerSocketPath(env);
  const [smi, rootDir] = await Promise.all([
    (opts.nvidiaSmi ?? runNvidiaSmi)().catch(() => null),
    (opts.dockerRootDir ?? (() => cachedDockerRootDir(socket, env)))().catch(() => null),
  ]);
  const gpus = smi ? parseNvidiaSmi(smi) : [];
  const diskBytes = opts.diskBytes ?? statfsBytes;
  const candidates = [rootDir, "/var/lib/docker", "/"].filter((d): d is string => !!d);
  let disk: number | null = null;
  let diskFree: number | null = null;
  let diskDir: string | null = null;
  for (const dir of candidates) {
    try {
      const b = diskBytes(dir);
      disk = round1(b.total / GiB);
      diskFree = round1(b.free / GiB);
      diskDir = dir;
      break;
    } catch {
      // try the next candidate
    }
  }
  // the most common GPU model and how many of it there are
  const byName = new Map<string, { memory: number; count: number }>();
  for (const g of gpus) {
    const e = byName.get(g.name);
    if (e) e.count++;
    else byName.set(g.name, { memory: g.memory, count: 1 });
  }
  const top = [...byName.entries()].sort((a, b) => b[1].count - a[1].count)[0];
  const arch: CpuArch = os.arch() === "arm64" || os.arch() === "arm" ? "arm" : "x86";
  const vendor: GpuVendor | null = top ? "nvidia" : null;
  return {
    backend: "local",
    region: "local",
    zone: null,
    instance_type: "local",
    // 0, or what config.yml says this machine costs (`- type: local` with `price:`)
    price: localMachinePrice({ env }),
    spot: false,
    cpu: typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length,
    cpu_arch: arch,
    memory: round1(os.totalmem() / GiB),
    disk,
    gpu_count: top ? top[1].count : 0,
    gpu_name: top ? top[0] : null,
    gpu_memory: top ? top[1].memory : null,
    gpu_vendor: vendor,
    flags: [],
    provider_data: {
      hostname: os.hostname(),
      docker_root_dir: rootDir,
      disk_path: diskDir,
      disk_free: diskFree,
      gpus: gpus.map((g) => g.raw),
    },
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function statfsBytes(dir: string): { total: number; free: number } {
  const s = fs.statfsSync(dir);
  return { total: s.blocks * s.bsize, free: s.bavail * s.bsize };
}

/**
 * The warning for a local run whose disk request (GB, its minimum) is more than the space free
 * in Docker's data root now; null when it fits or nothing is known.
 */
export function localDiskWarning(offer: Offer, requestedMin: number | null): string | null {
  if (offer.backend !== "local" || requestedMin === null || requestedMin <= 0) return null;
  const free = offer.provider_data?.disk_free;
  if (typeof free !== "number" || free >= requestedMin) return null;
  const where = typeof offer.provider_data?.disk_path === "string" ? ` (${offer.provider_data.disk_path})` : "";
  return (
    `the run asks for at least ${requestedMin}GB of disk; this machine's disk is ${offer.disk}GB, ` +
    `of which ${free}GB is free in Docker's data root${where} now: the run may fill it (free space with \`docker system prune\`, or lower resources.disk)`
  );
}

export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  if (host && host.startsWith("unix://")) return host.slice("unix://".length);
  return "/var/run/docker.sock";
}

/**
 * Asks the Docker engine (`GET /info` on its unix socket, plain HTTP/1.0 so the engine closes
 * the connection after the body) for DockerRootDir.
 */
export function dockerRootDirOf(socketPath: string, timeoutMs = 1500): Promise<string | null> {
  return new Promise((resolve) => {
    if (!fs.existsSync(socketPath)) return resolve(null);
    const chunks: Buffer[] = [];
    const sock = net.createConnection(socketPath);
    const done = (v: string | null) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(null));
    sock.on("connect", () => sock.write("GET /info HTTP/1.0\r\nHost: docker\r\n\r\n"));
    sock.on("data", (d: Buffer) => chunks.push(d));
    sock.on("error", () => done(null));
    sock.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const m = /"DockerRootDir"\s*:\s*("(?:[^"\\]|\\.)*")/.exec(text);
      let root: string | null;
      try {
        root = m ? (JSON.parse(m[1]) as string) : null;
      } catch {
        root = null;
      }
      done(root);
    });
  });
}

const ROOT_DIR_TTL_MS = 10 * 60 * 1000;

/**
 * DockerRootDir, remembered for ten minutes under DSTACK_HOME/cache (the engine's `/info` is
 * slow, and the data root rarely moves); the free space itself is always measured afresh.
 */
export async function cachedDockerRootDir(socketPath: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const file = path.join(homePaths(env).cache, "docker-root.json");
  try {
    const c = JSON.parse(fs.readFileSync(file, "utf8")) as { socket?: string; root?: string; at?: number };
    if (c.socket === socketPath && typeof c.root === "string" && typeof c.at === "number" && Date.now() - c.at < ROOT_DIR_TTL_MS && fs.existsSync(c.root)) {
      return c.root;
    }
  } catch {
    // no cache yet
  }
  const root = await dockerRootDirOf(socketPath);
  if (root) {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeFileAtomic(file, JSON.stringify({ socket: socketPath, root, at: Date.now() })); // shared by concurrent commands
    } catch {
      // the cache is an optimisation only
    }
  }
  return root;
}

function runNvidiaSmi(): Promise<string | null> {
  return new Promise((resolve) => {
    execFile("nvidia-smi", ["--query-gpu=name,memory.total", "--format=csv,noheader"], { timeout: 5000 }, (err, stdout) => {
      resolve(err ? null : stdout);
    });
  });
}

export interface LocalGpu {
  /** gpuhunt-style name: `A100`, `RTX4090`, `H100NVL`. */
  name: string;
  /** GB (GiB), rounded. */
  memory: number;
  raw: string;
}

/** Parses `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader` lines (`NVIDIA A100-SXM4-80GB, 81920 MiB`). */
export function parseNvidiaSmi(text: string): LocalGpu[] {
  const out: LocalGpu[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const comma = line.lastIndexOf(",");
    if (comma < 0) continue;
    const name = normalizeNvidiaName(line.slice(0, comma));
    const m = /([\d.]+)\s*(MiB|GiB|MB|GB)?/i.exec(line.slice(comma + 1));
    if (!name || !m) continue;
    const value = Number(m[1]);
    const unit = (m[2] ?? "MiB").toLowerCase();
    const mib = unit === "gib" || unit === "gb" ? value * 1024 : value;
    out.push({ name, memory: Math.round(mib / 1024), raw: line });
  }
  return out;
}

/** `NVIDIA A100-SXM4-80GB` → `A100`; `NVIDIA GeForce RTX 4090` → `RTX4090`; `NVIDIA RTX A6000` → `A6000`. */
export function normalizeNvidiaName(name: string): string {
  let n = name.trim().replace(/^(NVIDIA|Tesla)\s+/i, "").replace(/^(Tesla|GeForce|Quadro)\s+/i, "");
  n = n.replace(/\s+Ada Generation$/i, " Ada");
  n = n.replace(/[-\s](SXM\d?|PCIE|PCIe|NVL)?[-\s]?\d+GB.*$/i, (m) => (/NVL/i.test(m) ? "NVL" : ""));
  n = n.replace(/[-\s](SXM\d?|PCIE|PCIe|HBM\d?e?)$/i, "");
  n = n.replace(/^RTX\s+(A\d{4})/i, "$1");
  return n.replace(/[\s-]+/g, "");
}
