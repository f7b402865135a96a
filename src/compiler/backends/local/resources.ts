/**
 * The local backend's resources as the program declares them: custom resources of package
 * `dstack` (`dstack:index:LocalImage`, `…:LocalVolume`, `…:LocalContainer`), served by dstack's
 * provider plugin `pulumi-resource-dstack` (./plugin.ts, installed by `dstack setup` into
 * PULUMI_HOME's plugins folder, src/stacks/toolchain.ts). Their inputs and outputs are the
 * providers' (./image.ts, ./volume.ts, ./container.ts).
 *
 * Each declares the resource's former type, `pulumi-nodejs:dynamic/dstack:<Kind>` (the
 * dynamic-provider resources of stacks made before the plugin), as an alias: the engine then
 * finds the old resource under the new type, the provider change is no replacement (the plugin
 * has no configuration to differ), and the plugin's diff sees the same inputs, so an existing
 * run's container, volumes and image are kept as they are.
 */
import * as pulumi from "@pulumi/pulumi";
import { packageVersion } from "../../../paths";
import type { LocalContainerInputs } from "./container";
import type { LocalImageInputs } from "./image";
import type { LocalVolumeInputs } from "./volume";
import { legacyLocalType, localType, type LocalKind } from "./tokens";
import { localResourceUrn } from "./urn";

type Args<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export type LocalImageArgs = Args<LocalImageInputs>;
export type LocalVolumeArgs = Args<LocalVolumeInputs>;
export type LocalContainerArgs = Args<LocalContainerInputs>;

/** The plugin's version: dstack's own (the plugin is part of the package). */
export function localProviderVersion(): string {
  return packageVersion();
}

/** Options every local resource gets: the plugin's version and the alias to its dynamic-provider type. */
function localOptions(kind: LocalKind, opts: pulumi.CustomResourceOptions | undefined): pulumi.CustomResourceOptions {
  return { version: localProviderVersion(), ...opts, aliases: [{ type: legacyLocalType(kind) }, ...(opts?.aliases ?? [])] };
}

export class LocalImage extends pulumi.CustomResource {
  declare readonly ref: pulumi.Output<string>;
  declare readonly image_id: pulumi.Output<string>;

  constructor(name: string, args: LocalImageArgs, opts?: pulumi.CustomResourceOptions) {
    super(localType("LocalImage"), name, { ...args, run: pulumi.getStack(), resource_urn: localResourceUrn("LocalImage", name), image_id: undefined }, {
      ...localOptions("LocalImage", opts),
      additionalSecretOutputs: ["registry_auth", ...(opts?.additionalSecretOutputs ?? [])],
    });
  }
}

export class LocalVolume extends pulumi.CustomResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly adopted: pulumi.Output<boolean>;
  declare readonly mountpoint: pulumi.Output<string>;

  constructor(name: string, args: LocalVolumeArgs, opts?: pulumi.CustomResourceOptions) {
    super(localType("LocalVolume"), name, { ...args, resource_urn: localResourceUrn("LocalVolume", name), adopted: undefined, mountpoint: undefined }, localOptions("LocalVolume", opts));
  }
}

export class LocalContainer extends pulumi.CustomResource {
  declare readonly container_id: pulumi.Output<string>;
  declare readonly ssh_port: pulumi.Output<number>;
  declare readonly host_key: pulumi.Output<string>;
  declare readonly state: pulumi.Output<string>;
  declare readonly created_at: pulumi.Output<string>;
  declare readonly expires_at: pulumi.Output<string | null>;
  declare readonly labels: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: LocalContainerArgs, opts?: pulumi.CustomResourceOptions) {
    const outs = { container_id: undefined, ssh_port: undefined, host_key: undefined, state: undefined, created_at: undefined, expires_at: undefined };
    super(localType("LocalContainer"), name, { ...args, resource_urn: localResourceUrn("LocalContainer", name), ...outs }, {
      deleteBeforeReplace: true,
      ...localOptions("LocalContainer", opts),
      additionalSecretOutputs: ["secret_env", ...(opts?.additionalSecretOutputs ?? [])],
    });
  }
}
