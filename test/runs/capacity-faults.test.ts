/**
 * The local machine's capacity (what other runs hold), the faults seam (DSTACK_FAULTS) and the
 * start script's end markers, without Docker.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { capacityShortfall, freeCapacity, type Holding } from "../../src/runs/capacity";
import { injectedNoCapacity, localOffersWithFaults, parseFaults, readFaults } from "../../src/runs/faults";
import { countSessions, parseEndMarker } from "../../src/runs/observe";
import { DEFAULT_RESOURCES, type ResourcesSpec } from "../../src/config/runspec";
import { DstackError } from "../../src/diagnostics";
import type { Offer } from "../../src/offers/offer";

const machine: Offer = {
  backend: "local", region: "local", zone: null, instance_type: "local", price: 0, spot: false, cpu: 8, cpu_arch: "x86", memory: 32, disk: 100,
  gpu_count: 2, gpu_name: "A100", gpu_memory: 80, gpu_vendor: "nvidia", flags: [], provider_data: {},
};

function resources(o: { cpu?: number; memory?: number; gpus?: number }): { resources: ResourcesSpec } {
  const r = structuredClone(DEFAULT_RESOURCES);
  if (o.cpu !== undefined) r.cpu.count = { min: o.cpu, max: null };
  if (o.memory !== undefined) r.memory = { min: o.memory, max: null };
  if (o.gpus !== undefined) r.gpu.count = { min: o.gpus, max: null };
  return { resources: r };
}

describe("capacity", () => {
  const held: Holding[] = [
    { run: "a", cpus: 6, memory: 0, gpus: 1 },
    { run: "b", cpus: 0, memory: 30, gpus: 0 },
  ];
  test("free = the machine minus what the others hold", () => {
    expect(freeCapacity(machine, held)).toEqual({ cpus: 2, memory: 2, gpus: 1 });
    expect(freeCapacity(machine, [])).toEqual({ cpus: 8, memory: 32, gpus: 2 });
  });
  test("the run's minimums that are not free are named, with who holds them", () => {
    const free = freeCapacity(machine, held);
    expect(capacityShortfall(resources({ cpu: 2, memory: 2, gpus: 1 }), free, held)).toEqual([]);
    const short = capacityShortfall(resources({ cpu: 4, memory: 8, gpus: 2 }), free, held);
    expect(short).toEqual(["4 CPUs asked, 2 free (held by a)", "8GB of memory asked, 2GB free (held by b)", "2 GPU(s) asked, 1 free (held by a)"]);
  });
  test("runs without limits hold nothing: dstack's defaults never crowd each other out", () => {
    const unlimited: Holding[] = [{ run: "a", cpus: 0, memory: 0, gpus: 0 }, { run: "b", cpus: 0, memory: 0, gpus: 0 }];
    expect(capacityShortfall({ resources: DEFAULT_RESOURCES }, freeCapacity(machine, unlimited), unlimited)).toEqual([]);
  });
});

describe("faults seam", () => {
  test("offers: the machine presented as several local offers; no_capacity by instance type or *", () => {
    const f = parseFaults({ offers: [{ instance_type: "slot-a", price: 0.01 }, { instance_type: "slot-b", spot: true }], no_capacity: ["slot-a"] });
    const offers = localOffersWithFaults(machine, f);
    expect(offers.map((o) => [o.instance_type, o.price, o.spot, o.cpu])).toEqual([["slot-a", 0.01, false, 8], ["slot-b", 0, true, 8]]);
    expect(offers.map((o) => injectedNoCapacity(o, f))).toEqual([true, false]);
    expect(injectedNoCapacity(machine, parseFaults({ no_capacity: ["*"] }))).toBe(true);
    expect(localOffersWithFaults(machine, parseFaults({}))).toEqual([machine]);
  });
  test("unset: no faults; a malformed file: E6290", () => {
    expect(readFaults({})).toEqual({ offers: [], no_capacity: [] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "faults-"));
    const file = path.join(dir, "f.json");
    fs.writeFileSync(file, JSON.stringify({ no_capacity: ["x"] }));
    expect(readFaults({ DSTACK_FAULTS: file }).no_capacity).toEqual(["x"]);
    for (const bad of ["{", JSON.stringify({ nope: 1 }), JSON.stringify({ offers: [{ price: 1 }] }), JSON.stringify({ no_capacity: "x" })]) {
      fs.writeFileSync(file, bad);
      expect(() => readFaults({ DSTACK_FAULTS: file })).toThrow(DstackError);
      try {
        readFaults({ DSTACK_FAULTS: file });
      } catch (e) {
        expect((e as DstackError).diagnostics[0].code).toBe("E6290");
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("what the start script says when the container ends", () => {
  test("the last marker line", () => {
    expect(parseEndMarker("hi\n[dstack] ended: commands exit 3\n")).toEqual({ by: "commands", code: 3 });
    expect(parseEndMarker("[dstack] max_duration reached: stopping\n[dstack] ended: max_duration\n")).toEqual({ by: "max_duration" });
    expect(parseEndMarker("[dstack] ended: inactivity")).toEqual({ by: "inactivity" });
    expect(parseEndMarker("[dstack] ended: signal\n")).toEqual({ by: "signal" });
    expect(parseEndMarker("Server listening on 127.0.0.1 port 22.\n")).toBeNull();
    expect(parseEndMarker("")).toBeNull();
    expect(parseEndMarker("[dstack] setup\n[dstack] error: setup failed (exit 2)\n")).toEqual({ by: "setup_failed", message: "setup failed (exit 2)" });
  });
  test("open SSH sessions among the container's processes", () => {
    const ps = ["/bin/sh /etc/dstack/start.sh", "/usr/sbin/sshd -D -e -f /etc/dstack/sshd_config", "sshd: root [priv]", "sshd: root@pts/0", "sshd-session: root@notty", "-bash"];
    expect(countSessions(ps)).toBe(2);
    expect(countSessions(ps.slice(0, 3))).toBe(0);
  });
});
