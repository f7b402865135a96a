/**
 * The local machine's offer: real os figures, the Docker data root's free disk, nvidia-smi parsing.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { cachedDockerRootDir, dockerRootDirOf, localDiskWarning, localOffer, normalizeNvidiaName, parseNvidiaSmi } from "../../src/offers/local";
import { findOffers, matchOffer } from "../../src/offers/find";
import { catalogFromOffers } from "../../src/offers/catalog-builder";
import { atLeast, runSpec } from "./runspec-fixture";

describe("nvidia-smi", () => {
  test.each([
    ["NVIDIA A100-SXM4-80GB", "A100"],
    ["NVIDIA A100 80GB PCIe", "A100"],
    ["NVIDIA H100 80GB HBM3", "H100"],
    ["NVIDIA H100 PCIe", "H100"],
    ["NVIDIA H100 NVL", "H100NVL"],
    ["NVIDIA GeForce RTX 4090", "RTX4090"],
    ["NVIDIA RTX A6000", "A6000"],
    ["NVIDIA RTX 6000 Ada Generation", "RTX6000Ada"],
    ["Tesla T4", "T4"],
    ["NVIDIA A10G", "A10G"],
    ["NVIDIA L40S", "L40S"],
  ])("%s → %s", (raw, name) => expect(normalizeNvidiaName(raw)).toBe(name));

  test("parses name and memory per line", () => {
    const gpus = parseNvidiaSmi("NVIDIA A100-SXM4-80GB, 81920 MiB\nNVIDIA A100-SXM4-80GB, 81920 MiB\n\n");
    expect(gpus.map((g) => [g.name, g.memory])).toEqual([
      ["A100", 80],
      ["A100", 80],
    ]);
    expect(parseNvidiaSmi("Tesla T4, 15360 MiB")[0].memory).toBe(15);
  });
});

describe("localOffer", () => {
  test("this machine: cpu, arch, memory from os; price 0; on-demand; no GPU without nvidia-smi", async () => {
    const o = await localOffer({ nvidiaSmi: async () => null, dockerRootDir: async () => null, diskBytes: () => ({ total: 252 * 1024 ** 3, free: 76 * 1024 ** 3 }) });
    expect(o).toMatchObject({ backend: "local", region: "local", zone: null, price: 0, spot: false, gpu_count: 0, gpu_name: null, disk: 252 });
    expect(o.provider_data.disk_free).toBe(76);
    expect(o.cpu).toBe(os.availableParallelism());
    expect(o.cpu_arch).toBe(os.arch() === "arm64" ? "arm" : "x86");
    expect(o.memory).toBeCloseTo(os.totalmem() / 1024 ** 3, 0);
  });

  test("GPUs from nvidia-smi", async () => {
    const o = await localOffer({
      nvidiaSmi: async () => "NVIDIA H100 80GB HBM3, 81559 MiB\nNVIDIA H100 80GB HBM3, 81559 MiB\n",
      dockerRootDir: async () => null,
    });
    expect(o).toMatchObject({ gpu_count: 2, gpu_name: "H100", gpu_memory: 80, gpu_vendor: "nvidia" });
    expect(matchOffer(runSpec({ cpu: { count: atLeast(1) }, memory: atLeast(1), disk: null, gpu: { name: ["H100"], count: range2() } }), o)).toBe(true);
  });

  test("disk is the size of the file system of Docker's data root, else /var/lib/docker or /", async () => {
    const asked: string[] = [];
    const o = await localOffer({
      nvidiaSmi: async () => null,
      dockerRootDir: async () => "/srv/docker",
      diskBytes: (dir) => {
        asked.push(dir);
        if (dir === "/srv/docker") throw new Error("ENOENT");
        return { total: 40 * 1024 ** 3, free: 10 * 1024 ** 3 };
      },
    });
    expect(asked).toEqual(["/srv/docker", "/var/lib/docker"]);
    expect(o.disk).toBe(40);
    expect(o.provider_data).toMatchObject({ docker_root_dir: "/srv/docker", disk_path: "/var/lib/docker", disk_free: 10 });
  });

  test("dstack's default disk (100GB..) matches a 252GB disk with 75GB free, with a warning; a request above the disk finds no local offer", async () => {
    const o = await localOffer({ nvidiaSmi: async () => null, dockerRootDir: async () => "/var/lib/docker", diskBytes: () => ({ total: 252 * 1024 ** 3, free: 75.6 * 1024 ** 3 }) });
    const empty = { local: o, backends: [], catalog: catalogFromOffers([]) };
    const defaults = runSpec({ cpu: { count: atLeast(1) }, memory: atLeast(1), disk: atLeast(100) });
    expect(findOffers(defaults, empty).offers).toEqual([o]);
    expect(localDiskWarning(o, 100)).toBe(
      "the run asks for at least 100GB of disk; this machine's disk is 252GB, of which 75.6GB is free in Docker's data root (/var/lib/docker) now: " +
        "the run may fill it (free space with `docker system prune`, or lower resources.disk)",
    );
    expect(localDiskWarning(o, 10)).toBeNull();
    expect(localDiskWarning({ ...o, backend: "aws" }, 100)).toBeNull();
    const tooBig = findOffers(runSpec({ cpu: { count: atLeast(1) }, memory: atLeast(1), disk: atLeast(500) }), empty);
    expect(tooBig.total).toBe(0);
  });

  test("the real machine matches a modest dev environment (cpu 1.., memory 1GB.., disk 1GB..)", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-home-"));
    const o = await localOffer({ env: { ...process.env, DSTACK_HOME: home } });
    fs.rmSync(home, { recursive: true, force: true });
    expect(o.disk).toBeGreaterThan(1);
    const r = findOffers(runSpec({ cpu: { count: atLeast(1) }, memory: atLeast(1), disk: atLeast(1) }), {
      local: o,
      backends: [],
      catalog: catalogFromOffers([]),
    });
    expect(r.offers).toEqual([o]);
  });
});

function range2() {
  return { min: 2, max: 2 };
}

describe("Docker's data root", () => {
  let tmp: string;
  let server: net.Server | undefined;
  let requests = 0;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-docker-"));
    requests = 0;
  });
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  /** A stand-in engine on a unix socket answering GET /info like dockerd does for HTTP/1.0. */
  const engine = async (root: string) => {
    const socket = path.join(tmp, "docker.sock");
    server = net.createServer((c) => {
      c.once("data", (req) => {
        requests++;
        expect(req.toString()).toMatch(/^GET \/info HTTP\/1\.0\r\n/);
        const body = JSON.stringify({ ID: "x", DockerRootDir: root, Driver: "overlay2" });
        c.end(`HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      });
    });
    await new Promise<void>((r) => server!.listen(socket, r));
    return socket;
  };

  test("asked of the engine over its unix socket", async () => {
    const socket = await engine("/srv/docker-data");
    expect(await dockerRootDirOf(socket)).toBe("/srv/docker-data");
    expect(await dockerRootDirOf(path.join(tmp, "missing.sock"))).toBeNull();
  });

  test("remembered under DSTACK_HOME/cache for a while", async () => {
    const socket = await engine(tmp);
    const env = { DSTACK_HOME: path.join(tmp, "home") };
    expect(await cachedDockerRootDir(socket, env)).toBe(tmp);
    expect(await cachedDockerRootDir(socket, env)).toBe(tmp);
    expect(requests).toBe(1);
    expect(JSON.parse(fs.readFileSync(path.join(tmp, "home", "cache", "docker-root.json"), "utf8"))).toMatchObject({ socket, root: tmp });
  });
});
