/**
 * The local machine's offer: real os figures, the Docker data root's free disk, nvidia-smi parsing.
 */
import * as os from "os";
import { localOffer, normalizeNvidiaName, parseNvidiaSmi } from "../../src/offers/local";
import { findOffers, matchOffer } from "../../src/offers/find";
import { catalogFromOffers } from "../../src/offers/catalog";
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
    const o = await localOffer({ nvidiaSmi: async () => null, dockerRootDir: async () => null, freeBytes: () => 76 * 1024 ** 3 });
    expect(o).toMatchObject({ backend: "local", region: "local", zone: null, price: 0, spot: false, gpu_count: 0, gpu_name: null, disk: 76 });
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

  test("disk is the free space of Docker's data root, else /var/lib/docker or /", async () => {
    const asked: string[] = [];
    const o = await localOffer({
      nvidiaSmi: async () => null,
      dockerRootDir: async () => "/srv/docker",
      freeBytes: (dir) => {
        asked.push(dir);
        if (dir === "/srv/docker") throw new Error("ENOENT");
        return 10 * 1024 ** 3;
      },
    });
    expect(asked).toEqual(["/srv/docker", "/var/lib/docker"]);
    expect(o.disk).toBe(10);
    expect(o.provider_data).toMatchObject({ docker_root_dir: "/srv/docker", disk_path: "/var/lib/docker" });
  });

  test("the real machine matches a modest dev environment (cpu 1.., memory 1GB.., disk 1GB..)", async () => {
    const o = await localOffer();
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
