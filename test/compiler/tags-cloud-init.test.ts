/** Unit tests of the tags policy and of the cloud-init rendering. */
import { parse as parseYaml } from "yaml";
import { cloudTags, tagProps } from "../../src/compiler/tags";
import { bootFiles, checkEnv, cloudInitFiles, registryOfImage, renderCloudInit, renderStartupScript, shellQuote } from "../../src/compiler/backends/cloud/cloud-init";
import { cloudName, DEFAULT_CLOUD_SETTINGS, ingressPorts, isCidr, parseCloudSettings } from "../../src/compiler/backends/cloud/settings";
import { azureShutdownTime } from "../../src/compiler/backends/azure";
import { OFFERS, planFor, runSpec } from "./fixtures";
import { execFileSync } from "child_process";

describe("tags policy", () => {
  const tags = { "dstack:run": "Train-LLM", "dstack:expires-at": "2026-12-01T11:00:30.000Z", "team/cost center": "R&D <ml>" };
  test("GCP labels: lowercase [a-z0-9_-], ≤63, keys start with a letter", () => {
    expect(cloudTags("gcp", { ...tags, "9lives": "x".repeat(80) })).toEqual({
      dstack_run: "train-llm",
      "dstack_expires-at": "2026-12-01t11_00_30_000z",
      team_cost_center: "r_d__ml_",
      k9lives: "x".repeat(63),
    });
  });
  test("AWS tags keep `:` and `/`, replace what AWS rejects", () => {
    expect(cloudTags("aws", tags)).toEqual({ "dstack:run": "Train-LLM", "dstack:expires-at": "2026-12-01T11:00:30.000Z", "team/cost center": "R_D _ml_" });
  });
  test("Azure tags: keys without <>%&\\?/", () => {
    expect(cloudTags("azure", tags)["team_cost center"]).toBe("R&D <ml>");
  });
  test("only resources declaring the input are tagged; the resource's own tags win; GCP network tags are left alone", () => {
    // the root volume is tagged through rootBlockDevice.tags, never volumeTags (which cycles attached ebs.Volume tags)
    expect(tagProps("aws:ec2/instance:Instance", { tags: { Name: "x" }, volumeTags: undefined, rootBlockDevice: { volumeSize: 75 } }, { a: "1" })).toEqual({
      tags: { a: "1", Name: "x" },
      volumeTags: undefined,
      rootBlockDevice: { volumeSize: 75, tags: { a: "1" } },
    });
    expect(tagProps("aws:ec2/volumeAttachment:VolumeAttachment", { volumeId: "v" }, { a: "1" })).toBeUndefined();
    expect(tagProps("gcp:compute/instance:Instance", { tags: ["net"], labels: undefined }, { "dstack:run": "r" })).toEqual({ tags: ["net"], labels: { dstack_run: "r" } });
    expect(tagProps("gcp:compute/firewall:Firewall", { targetTags: ["x"] }, { a: "1" })).toBeUndefined();
    expect(tagProps("docker:index/image:Image", { tags: undefined }, { a: "1" })).toBeUndefined();
  });
});

describe("settings", () => {
  test("CIDRs", () => {
    expect(isCidr("0.0.0.0/0")).toBe(true);
    expect(isCidr("2001:db8::/32")).toBe(true);
    expect(isCidr("10.0.0.0/33")).toBe(false);
    expect(isCidr("10.0.0/8")).toBe(false);
  });
  test("defaults and validation", () => {
    expect(parseCloudSettings(undefined)).toEqual(DEFAULT_CLOUD_SETTINGS);
    expect(() => parseCloudSettings({ network: "vpn" })).toThrow(/network must be/);
    expect(() => parseCloudSettings({ volumes: { d: { size: 0 } } })).toThrow(/size must be/);
    expect(() => parseCloudSettings({ container_ssh_port: 22 })).toThrow(/container_ssh_port/);
    expect(parseCloudSettings({ volumes: { d: { size: 500 } } }).volumes).toEqual({ d: { size: 500, id: null } });
  });
  test("ports and names", () => {
    expect(ingressPorts({ ...DEFAULT_CLOUD_SETTINGS, expose_ports: true }, [{ container_port: 8000 }])).toEqual([22, 8000, 10022]);
    expect(cloudName(["dstack", "My_Run.1"])).toBe("dstack-my-run-1");
    expect(cloudName(["9x"])).toBe("d-9x");
  });
});

describe("cloud-init", () => {
  const plan = planFor(
    runSpec({ env: { A: "it's \"quoted\" $HOME", B: "  leading" }, setup: ["pip install -r requirements.txt"], init: ["echo hi"], commands: ["python train.py --lr 3e-4"] }),
    OFFERS.aws,
  );
  const spec = { plan, backend: "aws" as const, image: "ghcr.io/a/b:1", registry: null, accelerator: "nvidia" as const, volumes: [], settings: DEFAULT_CLOUD_SETTINGS };

  test("the cloud-config parses and carries every boot file byte for byte", () => {
    const text = renderCloudInit(spec);
    const files = cloudInitFiles(text, parseYaml);
    for (const f of bootFiles(spec)) expect(files[f.path]).toBe(f.content);
    const doc = parseYaml(text) as { runcmd: string[][]; ssh_authorized_keys: string[]; ssh_pwauth: boolean };
    expect(doc.runcmd).toEqual([["bash", "/opt/dstack/boot.sh"]]);
    expect(doc.ssh_authorized_keys).toEqual([plan.ssh.public_key]);
    expect(doc.ssh_pwauth).toBe(false);
    expect(files["/opt/dstack/container/commands.sh"]).toBe("python train.py --lr 3e-4\n");
    expect(files["/opt/dstack/container/setup.sh"]).toBe("pip install -r requirements.txt\n");
  });

  test("run.conf and env.sh are valid shell that gives back the values", () => {
    const files = Object.fromEntries(bootFiles(spec).map((f) => [f.path, f.content]));
    const out = execFileSync("bash", ["-c", `${files["/opt/dstack/container/env.sh"]}\nprintf '%s|%s' "$A" "$B"`], { encoding: "utf8" });
    expect(out).toBe(`it's "quoted" $HOME|  leading`);
    const conf = execFileSync("bash", ["-c", `${files["/opt/dstack/run.conf"]}\nprintf '%s' "$IMAGE $GPUS $ACCELERATOR"`], { encoding: "utf8" });
    expect(conf).toBe("ghcr.io/a/b:1 1 nvidia");
  });

  test("the boot and entry scripts are valid bash / sh", () => {
    const files = Object.fromEntries(bootFiles(spec).map((f) => [f.path, f.content]));
    execFileSync("bash", ["-n", "-c", files["/opt/dstack/boot.sh"]]);
    execFileSync("sh", ["-n", "-c", files["/opt/dstack/container/entry.sh"]]);
    execFileSync("bash", ["-n", "-c", renderStartupScript(spec)]);
  });

  test("the startup script writes the same files", () => {
    const script = renderStartupScript(spec);
    for (const f of bootFiles(spec)) {
      const m = new RegExp(`echo (\\S+) \\| base64 -d > ${shellQuote(f.path).replace(/[/.]/g, "\\$&")}`).exec(script);
      expect(Buffer.from(m?.[1] ?? "", "base64").toString("utf8")).toBe(f.content);
    }
  });

  test("env values that an env file cannot carry are E3005", () => {
    expect(() => checkEnv({ A: "x\ny" })).toThrow(/line break/);
    expect(() => checkEnv({ "1A": "x" })).toThrow(/not a valid variable name/);
  });

  test("registry of an image", () => {
    expect(registryOfImage("ghcr.io/acme/x:1")).toBe("ghcr.io");
    expect(registryOfImage("localhost:5000/x")).toBe("localhost:5000");
    expect(registryOfImage("acme/x")).toBe("");
    expect(registryOfImage("ubuntu")).toBe("");
  });

  test("azure auto-shutdown time rounds up and is skipped beyond a day", () => {
    expect(azureShutdownTime(planFor(runSpec({ max_duration: 90 }), OFFERS.azure))).toBe("0902");
    expect(azureShutdownTime(planFor(runSpec({ max_duration: 3600 }), OFFERS.azure))).toBe("1000");
    expect(azureShutdownTime(planFor(runSpec({ max_duration: 2 * 86400 }), OFFERS.azure))).toBeNull();
  });
});

test("literal blocks give back trailing line breaks exactly", () => {
  const plan = planFor(runSpec({ setup: ["echo a", "", ""], init: [] }), OFFERS.gcp);
  const spec = { plan, backend: "gcp" as const, image: "x", registry: null, accelerator: "none" as const, volumes: [], settings: DEFAULT_CLOUD_SETTINGS };
  const files = cloudInitFiles(renderCloudInit(spec), parseYaml);
  for (const f of bootFiles(spec)) expect(files[f.path]).toBe(f.content);
});
