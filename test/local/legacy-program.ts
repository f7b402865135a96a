/**
 * The local program as dstack made it before its provider plugin (main at 0534939): the same
 * three resources as nodejs dynamic-provider resources (`pulumi-nodejs:dynamic/dstack:<Kind>`,
 * the provider's code serialized into the state and run by pulumi-resource-pulumi-nodejs),
 * with the same names, inputs and options. Frozen on purpose: it stands for stacks that
 * earlier versions left on users' machines (test/local/upgrade.test.ts brings a run up with
 * it, then with today's program). Do not update it with the program.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../../src/compiler/plan";
import type { RunOutputs } from "../../src/compiler/backends/program";
import { containerName, dockerLabels, localSettings, startScriptPath } from "../../src/compiler/backends/local";
import { containerProvider, type LocalContainerInputs } from "../../src/compiler/backends/local/container";
import { imageProvider, type LocalImageInputs } from "../../src/compiler/backends/local/image";
import { volumeProvider, type LocalVolumeInputs } from "../../src/compiler/backends/local/volume";

type Args<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** The URN the old program labelled its objects with (dynamic-provider type). */
function legacyUrn(kind: string, name: string): string {
  return `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::pulumi-nodejs:dynamic/dstack:${kind}::${name}`;
}

class LocalImage extends pulumi.dynamic.Resource {
  declare readonly ref: pulumi.Output<string>;
  declare readonly image_id: pulumi.Output<string>;
  constructor(name: string, args: Args<LocalImageInputs>, opts?: pulumi.CustomResourceOptions) {
    super(imageProvider, name, { ...args, run: pulumi.getStack(), resource_urn: legacyUrn("LocalImage", name), image_id: undefined }, {
      ...opts,
      additionalSecretOutputs: ["registry_auth", ...(opts?.additionalSecretOutputs ?? [])],
    }, "dstack", "LocalImage");
  }
}

class LocalVolume extends pulumi.dynamic.Resource {
  constructor(name: string, args: Args<LocalVolumeInputs>, opts?: pulumi.CustomResourceOptions) {
    super(volumeProvider, name, { ...args, resource_urn: legacyUrn("LocalVolume", name), adopted: undefined, mountpoint: undefined }, opts, "dstack", "LocalVolume");
  }
}

class LocalContainer extends pulumi.dynamic.Resource {
  declare readonly container_id: pulumi.Output<string>;
  declare readonly ssh_port: pulumi.Output<number>;
  declare readonly host_key: pulumi.Output<string>;
  declare readonly created_at: pulumi.Output<string>;
  declare readonly expires_at: pulumi.Output<string | null>;
  constructor(name: string, args: Args<LocalContainerInputs>, opts?: pulumi.CustomResourceOptions) {
    const outs = { container_id: undefined, ssh_port: undefined, host_key: undefined, state: undefined, created_at: undefined, expires_at: undefined };
    super(containerProvider, name, { ...args, resource_urn: legacyUrn("LocalContainer", name), ...outs }, {
      deleteBeforeReplace: true,
      ...opts,
      additionalSecretOutputs: ["secret_env", ...(opts?.additionalSecretOutputs ?? [])],
    }, "dstack", "LocalContainer");
  }
}

/** main's `localProgram` (src/compiler/backends/local.ts at 0534939), over the classes above. */
export async function legacyLocalProgram(plan: Plan, opts: { settings?: Record<string, unknown> }): Promise<RunOutputs> {
  const settings = localSettings(opts);
  const labels = dockerLabels(plan.tags);
  const c = plan.container;
  const auth = plan.image.registry_auth;
  const image = new LocalImage("image", {
    kind: plan.image.kind,
    ref: plan.image.ref,
    build: plan.image.build ? { ...plan.image.build, ref: plan.image.ref } : null,
    registry_auth: auth ? pulumi.secret({ username: auth.username, password: auth.password }) : null,
  }, { retainOnDelete: true });
  const volumes = new Map<string, LocalVolume>();
  for (const v of plan.volumes) {
    if (volumes.has(v.name)) continue;
    volumes.set(v.name, new LocalVolume(`volume-${v.name}`, { name: v.name, labels, retain: !settings.delete_volumes }, { retainOnDelete: !settings.delete_volumes }));
  }
  const secretKeys = new Set(c.secret_env);
  const env: Record<string, string> = {};
  const secretEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.env)) (secretKeys.has(k) ? secretEnv : env)[k] = v;
  const mounts = [
    ...plan.volumes.map((v) => ({ type: "volume" as const, source: v.name, target: v.path })),
    ...plan.instance_mounts
      .filter((m) => !m.optional || fs.existsSync(m.instance_path))
      .map((m) => ({ type: "bind" as const, source: path.resolve(m.instance_path), target: m.path })),
  ];
  const container = new LocalContainer("container", {
    name: containerName(plan.run_name),
    image: image.ref,
    image_id: image.image_id,
    run_type: plan.run_type,
    keep_running: plan.run_type !== "task",
    repo_dir: path.resolve(String(opts.settings?.repo_dir ?? plan.repo_dir)),
    working_dir: c.working_dir,
    env,
    secret_env: pulumi.secret(secretEnv),
    setup: c.setup,
    init: c.init,
    commands: c.commands,
    shell: c.shell,
    ssh_user: plan.ssh.user,
    ssh_public_key: plan.ssh.public_key,
    mounts,
    privileged: c.privileged,
    cpus: c.cpus,
    memory: c.memory,
    shm_size: c.shm_size,
    gpus: c.gpus,
    labels,
    max_duration: plan.max_duration,
    start_script: settings.start_script ?? fs.readFileSync(startScriptPath(), "utf8"),
  }, { dependsOn: [...volumes.values()] });
  return {
    ssh_host: "127.0.0.1",
    ssh_port: container.ssh_port,
    ssh_user: plan.ssh.user,
    instance_id: container.container_id,
    host_key: container.host_key,
    container_name: containerName(plan.run_name),
    image: plan.image.ref,
    volumes: [...volumes.keys()],
    created_at: container.created_at,
    expires_at: container.expires_at,
    run_type: plan.run_type,
    backend: "local",
    region: "local",
  };
}
