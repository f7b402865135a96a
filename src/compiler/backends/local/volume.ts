/**
 * LocalVolume: a named Docker volume, as a Pulumi dynamic provider (dockerode).
 *
 * Volumes persist across runs (dstack semantics: a volume outlives the run that mounts it, and
 * several runs may mount the same name). So:
 * - create adopts an existing volume of that name (`adopted: true`) instead of failing;
 * - delete removes the volume only when `retain` is false. The local program sets
 *   `retain: !settings.delete_volumes` (default: retained), so `dstack down` keeps volumes;
 *   `dstack down --volumes` destroys the stack and then removes the stack's `volumes` output
 *   with `removeVolumes()` from src/stacks/docker.ts (works whatever `retain` was at the last up).
 * - diff: a new name replaces (the old volume is then retained or deleted as above);
 *   `retain` updates in place; labels are informational (the first creator's) and never diff.
 * - read (refresh): a volume removed by hand disappears from state and is created again.
 *
 * Served by dstack's provider plugin (./plugin.ts); declared by `LocalVolume` (./resources.ts).
 */
import type * as pulumi from "@pulumi/pulumi";

export interface LocalVolumeInputs {
  /** Docker volume name. */
  name: string;
  labels: Record<string, string>;
  /** Keep the Docker volume when the resource is deleted (default true). */
  retain: boolean;
  /** The resource's URN, set by LocalVolume: the `dstack.urn` label of a volume it creates (./urn.ts). */
  resource_urn?: string;
}

export interface LocalVolumeOutputs extends LocalVolumeInputs {
  /** The volume existed before this stack created it. */
  adopted: boolean;
  mountpoint: string;
}

type DockerodeClass = typeof import("dockerode");

export const volumeProvider: pulumi.dynamic.ResourceProvider<LocalVolumeInputs, LocalVolumeOutputs> = {
  async check(_olds: LocalVolumeInputs, news: LocalVolumeInputs): Promise<pulumi.dynamic.CheckResult<LocalVolumeInputs>> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (typeof news.name !== "string" || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(news.name)) {
      failures.push({ property: "name", reason: `invalid Docker volume name ${JSON.stringify(news.name)}: use letters, digits, _ . - (starting with a letter or digit)` });
    }
    return { inputs: news, failures };
  },

  async diff(_id: string, olds: LocalVolumeOutputs, news: LocalVolumeInputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = olds.name !== news.name ? ["name"] : [];
    const changes = replaces.length > 0 || Boolean(olds.retain) !== Boolean(news.retain);
    return { changes, replaces };
  },

  async create(inputs: LocalVolumeInputs): Promise<pulumi.dynamic.CreateResult<LocalVolumeOutputs>> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded where used (see container.ts)
    const Docker = require("dockerode") as DockerodeClass;
    const docker = new Docker();
    try {
      const info = await docker.getVolume(inputs.name).inspect();
      return { id: inputs.name, outs: { ...inputs, labels: info.Labels ?? {}, adopted: true, mountpoint: info.Mountpoint } };
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) throw e;
    }
    const labels = { ...inputs.labels, ...(inputs.resource_urn ? { "dstack.urn": inputs.resource_urn } : {}) };
    const created = (await docker.createVolume({ Name: inputs.name, Labels: labels })) as unknown as { Mountpoint?: string; name?: string };
    const info = await docker.getVolume(inputs.name).inspect();
    return { id: inputs.name, outs: { ...inputs, labels, adopted: false, mountpoint: info.Mountpoint ?? created.Mountpoint ?? "" } };
  },

  async read(id: string, props?: LocalVolumeOutputs): Promise<pulumi.dynamic.ReadResult<LocalVolumeOutputs>> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded where used (see container.ts)
    const Docker = require("dockerode") as DockerodeClass;
    const docker = new Docker();
    try {
      const info = await docker.getVolume(id).inspect();
      const base = (props ?? { name: id, labels: {}, retain: true, adopted: true }) as LocalVolumeOutputs;
      return { id, props: { ...base, name: info.Name, mountpoint: info.Mountpoint } };
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return {};
      throw e;
    }
  },

  async update(_id: string, olds: LocalVolumeOutputs, news: LocalVolumeInputs): Promise<pulumi.dynamic.UpdateResult<LocalVolumeOutputs>> {
    return { outs: { ...news, labels: olds.labels, adopted: olds.adopted, mountpoint: olds.mountpoint } };
  },

  async delete(id: string, props: LocalVolumeOutputs): Promise<void> {
    if (props.retain !== false) return;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded where used (see container.ts)
    const Docker = require("dockerode") as DockerodeClass;
    const docker = new Docker();
    try {
      await docker.getVolume(id).remove();
    } catch (e) {
      const code = (e as { statusCode?: number }).statusCode;
      if (code === 404) return;
      if (code === 409) throw new Error(`volume ${id} is in use by a container; stop that run first (docker ps --filter volume=${id})`, { cause: e });
      throw e;
    }
  },
};
