/**
 * The kubernetes backend's pure parts: config.yml's entry, a node's offer, the run's objects
 * decided from the Plan, and what a pod's status means to the reconciler.
 */
import * as path from "path";
import { fitNodeOffer, gpuNameOfProduct, nodeOffer, parseQuantity, type KubeNode } from "../../src/offers/kubernetes";
import { parseKubeSettings } from "../../src/offers/kubernetes-settings";
import { entryFiles, kubeLabels, kubeNames, podResources, podSpec, timeLabel } from "../../src/compiler/backends/kubernetes/objects";
import { podObservation } from "../../src/runs/kube-observe";
import { kubeProxyCommand } from "../../src/runs/kube-connect";
import { renderHostEntry } from "../../src/ssh/config";
import { CONTEXT, SSH_HOST_KEY, planFor, runSpec } from "../compiler/fixtures";
import type { Offer } from "../../src/offers/offer";

const node: KubeNode = {
  metadata: { name: "gpu-node-1", labels: { "kubernetes.io/arch": "amd64", "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB", "nvidia.com/gpu.memory": "81920" } },
  status: { allocatable: { cpu: "31500m", memory: "257388Mi", "ephemeral-storage": "500Gi", "nvidia.com/gpu": "8" } },
};

describe("kubernetes offers", () => {
  test("quantities", () => {
    expect(parseQuantity("1500m")).toBe(1.5);
    expect(parseQuantity("16Gi")).toBe(16 * 2 ** 30);
    expect(parseQuantity("128974848")).toBe(128974848);
    expect(parseQuantity("1e3")).toBe(1000);
    expect(parseQuantity("nope")).toBeNaN();
  });
  test("GPU product labels", () => {
    expect(gpuNameOfProduct("NVIDIA-A100-SXM4-80GB")).toBe("A100");
    expect(gpuNameOfProduct("Tesla-T4")).toBe("T4");
    expect(gpuNameOfProduct("NVIDIA-H100-80GB-HBM3")).toBe("H100");
    expect(gpuNameOfProduct(undefined)).toBeNull();
  });
  test("a GPU node's offer: allocatable resources, GPUs from the extended resource and labels, the configured price", () => {
    const o = nodeOffer(node, { price: 2.5 }, "prod");
    expect(o).toMatchObject({ backend: "kubernetes", region: "prod", instance_type: "gpu-node-1", price: 2.5, cpu: 31.5, memory: 251.35, disk: 500, gpu_count: 8, gpu_name: "A100", gpu_memory: 80, gpu_vendor: "nvidia", cpu_arch: "x86", spot: false });
  });
  test("for a run, an offer is the slice of its node the run asks for", () => {
    const o = nodeOffer(node, { price: 0 }, "prod") as Offer;
    const r = runSpec().resources;
    const fitted = fitNodeOffer(o, { ...runSpec(), resources: { ...r, cpu: { arch: null, count: { min: 2, max: 4 } }, memory: { min: 8, max: 16 }, gpu: { ...r.gpu, count: { min: 1, max: 1 } } } });
    expect(fitted).toMatchObject({ cpu: 4, memory: 16, gpu_count: 1, gpu_name: "A100", instance_type: "gpu-node-1" });
    // no upper bound: the whole node; a node below the lower bound keeps its figure (and fails the match)
    expect(fitNodeOffer(o, runSpec())).toMatchObject({ cpu: 31.5, gpu_count: 8 });
    expect(fitNodeOffer(o, { ...runSpec(), resources: { ...r, cpu: { arch: null, count: { min: 64, max: 128 } } } }).cpu).toBe(31.5);
  });
  test("a cordoned node offers nothing; a CPU node has no GPU", () => {
    expect(nodeOffer({ ...node, spec: { unschedulable: true } }, { price: 0 }, "r")).toBeNull();
    const cpu = nodeOffer({ metadata: { name: "n", labels: { "kubernetes.io/arch": "arm64" } }, status: { allocatable: { cpu: "4", memory: "8Gi" } } }, { price: 0 }, "r");
    expect(cpu).toMatchObject({ gpu_count: 0, gpu_name: null, cpu_arch: "arm", disk: null, memory: 8 });
  });
});

describe("kubernetes settings", () => {
  test("kubeconfig relative to config.yml, defaults", () => {
    const s = parseKubeSettings({ kubeconfig: { filename: "kube/config" } }, "/home/u/.dstack/config.yml");
    expect(s).toEqual({ kubeconfig: path.resolve("/home/u/.dstack/kube/config"), context: null, namespace: "default", ssh_port: 10022, price: 0, image: null, storage_class: null, volume_size: 100 });
  });
  test("errors are E7001 with the key", () => {
    expect(() => parseKubeSettings({}, "/c.yml")).toThrow(/kubeconfig: \{filename/);
    expect(() => parseKubeSettings({ kubeconfig: { filename: "k" }, namespace: "Bad_NS" }, "/c.yml")).toThrow(/namespace/);
    expect(() => parseKubeSettings({ kubeconfig: { filename: "k" }, price: -1 }, "/c.yml")).toThrow(/price/);
    const code = (() => {
      try {
        parseKubeSettings({ kubeconfig: { data: "x" } }, "/c.yml");
        return null;
      } catch (e) {
        return (e as { diagnostics: { code: string; hint?: string }[] }).diagnostics[0];
      }
    })();
    expect(code).toMatchObject({ code: "E7001", hint: expect.stringContaining("filename") });
  });
});

const kubeOffer: Offer = { ...(nodeOffer(node, { price: 0 }, "prod") as Offer) };

describe("kubernetes objects", () => {
  const spec = runSpec({ max_duration: 3600, resources: { ...runSpec().resources, shm_size: 16, cpu: { arch: null, count: { min: 4, max: 8 } }, memory: { min: 32, max: 64 }, gpu: { ...runSpec().resources.gpu, count: { min: 2, max: 2 } } }, volumes: [{ kind: "volume", name: ["data"], path: "/data" }] as never, commands: ["python train.py"] } as never);
  const offer = { ...kubeOffer, gpu_count: 2 };
  const p = planFor(spec, offer, { ...CONTEXT, sshHostKey: SSH_HOST_KEY });
  test("labels: run, project, owner, created, expiry on every object (Kubernetes label syntax)", () => {
    expect(kubeLabels(p)).toEqual({
      "dstack.ai/run": "train-llm",
      "dstack.ai/project": "main",
      "dstack.ai/owner": "alice",
      "dstack.ai/created-at": "20261201T090000Z",
      "dstack.ai/expires-at": "20261201T100000Z",
    });
    expect(timeLabel("never")).toBe("never");
  });
  test("requests from the lower bounds, limits from the upper, GPUs as the extended resource", () => {
    expect(podResources(p)).toEqual({ requests: { cpu: "4", memory: "32768Mi", "nvidia.com/gpu": "2" }, limits: { cpu: "8", memory: "65536Mi", "nvidia.com/gpu": "2" } });
  });
  test("the pod: deadline, node, shm, volume claim, the entry's Secret, sshd's port", () => {
    const names = kubeNames(p, 10022);
    expect(names.pod).toMatch(/^dstack-train-llm-[0-9a-f]{8}$/);
    expect(names.claims).toEqual({ data: "dstack-main-data" });
    const spec = podSpec(p, names, 10022) as {
      activeDeadlineSeconds: number;
      restartPolicy: string;
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: { matchFields: { values: string[] }[] }[] } } };
      volumes: unknown[];
      containers: { envFrom: unknown; ports: unknown; volumeMounts: unknown }[];
    };
    expect(spec.activeDeadlineSeconds).toBe(3600);
    expect(spec.restartPolicy).toBe("Never");
    expect(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values).toEqual(["gpu-node-1"]);
    expect(spec.volumes).toEqual(
      expect.arrayContaining([
        { name: "shm", emptyDir: { medium: "Memory", sizeLimit: "16384Mi" } },
        { name: "volume-0", persistentVolumeClaim: { claimName: "dstack-main-data" } },
        { name: "dstack-files", secret: { secretName: "dstack-train-llm-files", defaultMode: 0o644 } },
      ]),
    );
    const c = spec.containers[0];
    expect(c.envFrom).toEqual([{ secretRef: { name: "dstack-train-llm-env" } }]);
    expect(c.ports).toEqual([{ name: "ssh", containerPort: 10022, protocol: "TCP" }]);
    expect(c.volumeMounts).toEqual(expect.arrayContaining([{ name: "shm", mountPath: "/dev/shm" }, { name: "volume-0", mountPath: "/data" }]));
  });
  test("the entry's files carry the pinned host key, the authorized key and the commands", () => {
    const f = entryFiles(p, 10022);
    expect(f.ssh_host_ed25519_key).toContain("BEGIN OPENSSH PRIVATE KEY");
    expect(f.authorized_keys.trim()).toBe(p.ssh.public_key);
    expect(f["commands.sh"]).toBe("python train.py\n");
    expect(f["container.conf"]).toContain("CONTAINER_SSH_PORT='10022'");
    expect(f["entry.sh"]).toContain("AuthorizedKeysFile=/dstack/authorized_keys");
  });
  test("other backends' plans carry no requests (their plan hashes are unchanged)", () => {
    const local = planFor(runSpec(), { ...kubeOffer, backend: "local" });
    expect(local.container.requests).toBeUndefined();
  });
});

describe("pod observations", () => {
  test("unschedulable is no capacity", () => {
    const o = podObservation({ status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes are available: 1 Insufficient nvidia.com/gpu." }] } });
    expect(o).toEqual({ kind: "no_capacity", why: "0/1 nodes are available: 1 Insufficient nvidia.com/gpu." });
  });
  test("the deadline is max_duration; eviction and deletion are interruptions", () => {
    expect(podObservation({ status: { phase: "Failed", reason: "DeadlineExceeded" } })).toMatchObject({ kind: "exited", ended: { by: "max_duration" } });
    expect(podObservation({ status: { phase: "Failed", reason: "Evicted" } })).toMatchObject({ kind: "exited", ended: null });
    expect(podObservation(null)).toEqual({ kind: "missing" });
  });
  test("a task's exit code from the end marker, else from the container's terminated state", () => {
    const pod = { status: { phase: "Failed", containerStatuses: [{ name: "run", state: { terminated: { exitCode: 3 } } }] } };
    expect(podObservation(pod, { by: "commands", code: 3 }, true)).toEqual({ kind: "exited", ended: { by: "commands", code: 3 }, exit_code: 3 });
    expect(podObservation(pod, null, true)).toEqual({ kind: "exited", ended: { by: "commands", code: 3 }, exit_code: 3 });
    expect(podObservation(pod, null, false)).toEqual({ kind: "exited", ended: null, exit_code: 3 });
  });
  test("an image that cannot be pulled fails the start", () => {
    const o = podObservation({ status: { phase: "Pending", containerStatuses: [{ name: "run", state: { waiting: { reason: "ErrImagePull", message: "not found" } } }] } });
    expect(o).toMatchObject({ kind: "exited", ended: { by: "setup_failed" } });
  });
});

describe("ssh through the port-forward", () => {
  test("the ProxyCommand is dstack's kube-proxy, quoted for the shell and ssh's % tokens", () => {
    const cmd = kubeProxyCommand({ kubeconfig: "/k/my config%", context: "ctx", namespace: "ns", pod: "dstack-x", port: 10022 }, "/usr/bin/node", "/opt/dstack/bin/dstack");
    expect(cmd).toBe("'/usr/bin/node' '/opt/dstack/bin/dstack' 'kube-proxy' '--kubeconfig' '/k/my config%%' '--context' 'ctx' '--namespace' 'ns' '--pod' 'dstack-x' '--port' '10022'");
    const entry = renderHostEntry({ run: "x", hostName: "dstack-x", port: 10022, user: "root", identityFile: "/id", knownHostsFile: "/kh", proxyCommand: cmd });
    expect(entry).toContain(`  ProxyCommand ${cmd}`);
    expect(entry).toContain("  HostKeyAlias x");
  });
});

describe("the kubernetes program under the mock engine", () => {
  test("a pod, the Secrets and a retained claim, each labelled; secrets stay secret", async () => {
    const { runUnderMocks } = await import("../../src/compiler/mock-engine");
    const { kubernetesProgram } = await import("../../src/compiler/backends/kubernetes");
    const spec = runSpec({ max_duration: 600, secret_env: ["HF_TOKEN"], env: { HF_TOKEN: "hf_secret", A: "1" }, volumes: [{ kind: "volume", name: ["data"], path: "/data" }] as never, registry_auth: { username: "u", password: "p" } } as never);
    const p = planFor(spec, kubeOffer, { ...CONTEXT, sshHostKey: SSH_HOST_KEY });
    const g = await runUnderMocks(kubernetesProgram, p, { settings: { kubeconfig: { filename: "/etc/kube/config" }, namespace: "ml", ssh_port: 2222 } });
    const byType = (t: string) => g.resources.filter((r) => r.type === t);
    const pod = byType("kubernetes:core/v1:Pod")[0];
    const meta = pod.inputs.metadata as { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
    expect(meta.name).toMatch(/^dstack-train-llm-[0-9a-f]{8}$/);
    expect(meta).toMatchObject({ namespace: "ml", labels: { "dstack.ai/run": "train-llm", "dstack.ai/owner": "alice" }, annotations: { "pulumi.com/skipAwait": "true" } });
    expect((pod.inputs.spec as { activeDeadlineSeconds: number }).activeDeadlineSeconds).toBe(600);
    const secrets = byType("kubernetes:core/v1:Secret");
    expect(secrets.map((s) => (s.inputs.metadata as { name: string }).name).sort()).toEqual(["dstack-train-llm-env", "dstack-train-llm-files", "dstack-train-llm-registry"]);
    for (const s of secrets) {
      expect((s.inputs.metadata as { labels: Record<string, string> }).labels["dstack.ai/run"]).toBe("train-llm");
      expect(JSON.stringify(s.inputs)).not.toContain("hf_secret");
    }
    const claim = byType("kubernetes:core/v1:PersistentVolumeClaim")[0];
    expect(claim.options?.retain_on_delete).toBe(true);
    expect((claim.inputs.metadata as { labels: Record<string, string> }).labels["dstack.ai/expires-at"]).toBe("20261201T091000Z");
    expect(g.outputs).toMatchObject({ backend: "kubernetes", ssh_port: 2222, kube: { kubeconfig: "/etc/kube/config", namespace: "ml", pod: meta.name } });
  });
});
