/**
 * The kubernetes program: the run as Kubernetes objects in the configured cluster and namespace
 * (backends/kubernetes/objects.ts decides them from the Plan), through Pulumi's Kubernetes
 * provider (`@pulumi/kubernetes`, plugin `resource-kubernetes`), with server-side apply:
 * - the Pod, which the engine does not wait for (`pulumi.com/skipAwait`): dstack waits for sshd
 *   itself, through the API server's port-forward (src/runs/kube-connect.ts), and a pod that
 *   cannot be scheduled is seen by the reconciler (src/runs/kube-observe.ts) as no capacity;
 * - the env, the entry's files and the registry login as Secrets (Pulumi secrets in the state);
 * - a PersistentVolumeClaim per volume, retained when the run is destroyed (`retainOnDelete`),
 *   and adopted again by the next run that names the volume (server-side apply upserts).
 * The labels (run, project, owner, created, expiry) go on every object through one stack
 * transformation.
 */
import * as pulumi from "@pulumi/pulumi";
import { Provider } from "@pulumi/kubernetes/provider";
import { PersistentVolumeClaim, Pod, Secret } from "@pulumi/kubernetes/core/v1";
import { parseKubeSettings } from "../../offers/kubernetes-settings";
import type { Plan } from "../plan";
import type { BackendProgram, EmitOptions, RunOutputs } from "./program";
import { dockerConfigJson, entryFiles, kubeLabels, kubeNames, podSpec } from "./kubernetes/objects";

const SKIP_AWAIT = { "pulumi.com/skipAwait": "true" };

/** Adds the run's labels to every Kubernetes object the program declares (their own win). */
function applyLabelsPolicy(labels: Record<string, string>): void {
  pulumi.runtime.registerStackTransformation((args) => {
    if (!args.type.startsWith("kubernetes:") || (args.opts as pulumi.CustomResourceOptions).id !== undefined) return undefined;
    const props = args.props as { metadata?: pulumi.Input<{ labels?: pulumi.Input<Record<string, string>> }> };
    const metadata = pulumi.output(props.metadata ?? {}).apply((m) => ({ ...m, labels: { ...labels, ...(m.labels ?? {}) } }));
    return { props: { ...args.props, metadata }, opts: args.opts };
  });
}

export const kubernetesProgram: BackendProgram = async (plan: Plan, opts: EmitOptions): Promise<RunOutputs> => {
  if (plan.offer.backend !== "kubernetes") throw new Error(`the kubernetes program got an offer of ${plan.offer.backend}`);
  const settings = parseKubeSettings(opts.settings ?? {});
  applyLabelsPolicy(kubeLabels(plan));
  const names = kubeNames(plan, settings.ssh_port);
  const namespace = settings.namespace;
  const provider = new Provider("kubernetes", {
    kubeconfig: settings.kubeconfig,
    context: settings.context ?? undefined,
    namespace,
    enableServerSideApply: true,
  });
  const res = { provider };
  const created = { "dstack.ai/created-at": plan.created_at, "dstack.ai/expires-at": plan.expires_at ?? "never" };

  const env = new Secret(
    `${plan.run_name}-env`,
    {
      metadata: { name: names.env, namespace, annotations: created },
      type: "Opaque",
      stringData: plan.container.secret_env.length > 0 ? pulumi.secret(plan.container.env) : plan.container.env,
    },
    res,
  );
  const files = new Secret(
    `${plan.run_name}-files`,
    // the sshd host key's private part: a secret in the state too
    { metadata: { name: names.files, namespace, annotations: created }, type: "Opaque", stringData: pulumi.secret(entryFiles(plan, settings.ssh_port)) },
    res,
  );
  const dockerConfig = dockerConfigJson(plan);
  const registry = dockerConfig
    ? new Secret(
        `${plan.run_name}-registry`,
        { metadata: { name: names.registry, namespace, annotations: created }, type: "kubernetes.io/dockerconfigjson", stringData: pulumi.secret({ ".dockerconfigjson": dockerConfig }) },
        res,
      )
    : null;
  const claims = plan.volumes.map(
    (v) =>
      new PersistentVolumeClaim(
        `${plan.run_name}-volume-${v.name}`,
        {
          metadata: { name: names.claims[v.name], namespace, annotations: { ...SKIP_AWAIT, "dstack.ai/volume": v.name } },
          spec: {
            accessModes: ["ReadWriteOnce"],
            resources: { requests: { storage: `${settings.volume_size}Gi` } },
            storageClassName: settings.storage_class ?? undefined,
          },
        },
        // a volume outlives its run: `dstack down` leaves the claim (and its data) in the cluster
        { ...res, retainOnDelete: true },
      ),
  );
  const pod = new Pod(
    `${plan.run_name}-pod`,
    {
      metadata: { name: names.pod, namespace, annotations: { ...SKIP_AWAIT, ...created } },
      spec: podSpec(plan, names, settings.ssh_port) as never,
    },
    // the Secrets and claims exist before the pod that mounts them; a replaced pod goes first (it may hold the node's GPUs)
    { ...res, dependsOn: [env, files, ...(registry ? [registry] : []), ...claims], deleteBeforeReplace: true },
  );

  return {
    backend: "kubernetes",
    region: plan.offer.region,
    instance_type: plan.offer.instance_type,
    // no address: ssh goes through the API server's port-forward to the pod (ProxyCommand)
    ssh_host: names.pod,
    ssh_port: settings.ssh_port,
    ssh_user: "root",
    instance_id: pod.metadata.uid,
    run_name: plan.run_name,
    expires_at: plan.expires_at,
    host_key: plan.ssh.host_key?.public_key ?? null,
    image: plan.image.ref,
    kube: { kubeconfig: settings.kubeconfig, context: settings.context, namespace, pod: names.pod, node: plan.offer.instance_type },
    volumes: Object.values(names.claims),
  };
};

export default kubernetesProgram;
