/** `dstack compile`: configuration → offer → program under mocks → graph, through the real CLI wiring. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { compile, renderGraph } from "../../src/cli/compile";
import { main } from "../../cli";

let dir: string;
let home: string;
const saved = process.env.DSTACK_HOME;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-compile-repo-"));
  home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-compile-home-"));
  process.env.DSTACK_HOME = home;
  fs.writeFileSync(
    path.join(dir, ".dstack.yml"),
    ["type: task", "name: train", "image: ghcr.io/acme/trainer:2.1", "commands:", "  - python train.py", "resources:", "  gpu: A10G:1", "volumes:", "  - name: data", "    path: /data", ""].join("\n"),
  );
  fs.writeFileSync(path.join(home, "config.yml"), "backends:\n  - type: aws\n    ssh_ingress_cidrs: [198.51.100.0/24]\n    creds: {type: default}\n");
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
  if (saved === undefined) delete process.env.DSTACK_HOME;
  else process.env.DSTACK_HOME = saved;
});

test("compiles for the cheapest offer of the backend, with the backend's settings from config.yml", async () => {
  const { graph, offers } = await compile(dir, { backend: ["aws"] }, process.env);
  expect(graph.backend).toBe("aws");
  expect(graph.offer.instance_type).toBe(offers[0].instance_type);
  expect(graph.offer.price).toBe(Math.min(...offers.map((o) => o.price)));
  const sg = graph.resources.find((r) => r.type === "aws:ec2/securityGroup:SecurityGroup");
  expect(JSON.stringify(sg?.inputs.ingress)).toContain("198.51.100.0/24");
  expect(JSON.stringify(graph)).not.toContain("creds");
  const text = renderGraph(graph);
  expect(text).toContain("aws:ec2/instance:Instance  dstack-train-instance");
  // a volume with no volume stack yet: read by a placeholder id (`up` creates its stack first)
  expect(text).toContain("aws:ebs/volume:Volume  dstack-train-vol-data  (existing pending-data)");
});

test("--offer N takes the N-th offer", async () => {
  const first = await compile(dir, { backend: ["aws"] }, process.env);
  const second = await compile(dir, { backend: ["aws"], offer: "2" }, process.env);
  expect(second.graph.offer).toEqual(expect.objectContaining({ instance_type: first.offers[1].instance_type, region: first.offers[1].region, price: first.offers[1].price }));
});

test("the CLI prints exactly one JSON document", async () => {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, "write").mockImplementation((c: string | Uint8Array) => {
    chunks.push(String(c));
    return true;
  });
  try {
    const code = await main(["node", "dstack", "compile", dir, "--backend", "gcp", "--gpu", "L4", "--json"]);
    expect(code).toBe(0);
  } finally {
    spy.mockRestore();
  }
  const doc = JSON.parse(chunks.join("")) as { backend: string; offer: { gpu_name: string }; resources: { type: string }[] };
  expect(doc.backend).toBe("gcp");
  expect(doc.offer.gpu_name).toBe("L4");
  expect(doc.resources.map((r) => r.type)).toEqual(expect.arrayContaining(["gcp:compute/instance:Instance", "gcp:compute/disk:Disk", "gcp:compute/firewall:Firewall"]));
});

test("a bad --offer is a usage error", async () => {
  await expect(compile(dir, { backend: ["aws"], offer: "x" }, process.env)).rejects.toMatchObject({ exitCode: 2, diagnostics: [expect.objectContaining({ code: "E3020" })] });
});

test("--backend local runs the local program under the same mocks (resources of dstack's provider plugin)", async () => {
  const local = path.join(dir, "local");
  fs.mkdirSync(local, { recursive: true });
  fs.writeFileSync(path.join(local, ".dstack.yml"), "type: task\nname: cpu-task\ncommands: [echo hi]\nresources:\n  disk: 1GB..\n  memory: 1GB..\n  cpu: 1..\n");
  const { graph } = await compile(local, { backend: ["local"] }, process.env);
  expect(graph.backend).toBe("local");
  expect(graph.resources.length).toBeGreaterThan(0);
  expect(graph.resources.map((r) => r.type).sort()).toEqual(["dstack:index:LocalContainer", "dstack:index:LocalImage"]);
  expect(JSON.stringify(graph)).not.toContain("__provider"); // no serialized provider code any more
});
