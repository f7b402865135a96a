/**
 * Shared wiring of the cloud programs: which image the instance starts and with which registry
 * login, and the boot text (user-data) as a Pulumi output, a secret whenever it carries one.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../../plan";
import type { Offer } from "../../../offers/offer";
import {
  Accelerator,
  BootVolume,
  RegistryLogin,
  bootHasSecrets,
  registryOfImage,
  renderCloudInit,
  renderStartupScript,
} from "./cloud-init";
import type { CloudBackend, CloudSettings } from "./settings";

export function acceleratorOf(offer: Offer): Accelerator {
  if (offer.gpu_count <= 0) return "none";
  if (offer.gpu_vendor === "google") return "tpu";
  if (offer.gpu_vendor === "nvidia" || offer.gpu_vendor === null) return "nvidia";
  if (offer.gpu_vendor === "amd") return "amd";
  return "none";
}

export interface RunImage {
  /** The image to pull and start. */
  image: pulumi.Output<string>;
  /**
   * Registry login on the instance, or null. A password is secret; a login `via` the instance's
   * own identity carries none (and so changes nothing in the user data from one `up` to the next).
   */
  login: pulumi.Output<RegistryLogin | null>;
  /** Whether `login` holds a password (then the user data is a secret). */
  password: boolean;
}

/** The image of a run without a prebuild: the plan's ref, with `registry_auth` when given. */
export function userImage(plan: Plan): RunImage {
  const auth = plan.image.registry_auth;
  return {
    image: pulumi.output(plan.image.ref),
    login: auth
      ? pulumi.secret({ server: registryOfImage(plan.image.ref), username: auth.username, password: auth.password })
      : pulumi.output(null),
    password: auth !== null,
  };
}

export interface UserDataArgs {
  plan: Plan;
  backend: CloudBackend;
  settings: CloudSettings;
  image: RunImage;
  volumes: pulumi.Input<BootVolume[]>;
  /** `cloud-config` (default) or a bash `startup-script` for images without cloud-init. */
  format?: "cloud-config" | "startup-script";
  /** Base64-encode the result (Azure customData). */
  base64?: boolean;
  /** BootSpec.waitGpuDriver (Azure NVadsA10 v5). */
  waitGpuDriver?: boolean;
  /** BootSpec.azureDeallocate (Azure, max_duration past 24 h). */
  azureDeallocate?: boolean;
}

/** The instance's boot text; a Pulumi secret when it holds a registry password or secret env. */
export function userData(a: UserDataArgs): pulumi.Output<string> {
  const text = pulumi.all([a.image.image, a.image.login, pulumi.output(a.volumes)]).apply(([image, login, volumes]) => {
    const spec = {
      plan: a.plan,
      backend: a.backend,
      image,
      registry: login,
      accelerator: acceleratorOf(a.plan.offer),
      volumes: volumes as BootVolume[],
      settings: a.settings,
      waitGpuDriver: a.waitGpuDriver,
      azureDeallocate: a.azureDeallocate,
    };
    const t = a.format === "startup-script" ? renderStartupScript(spec) : renderCloudInit(spec);
    return a.base64 ? Buffer.from(t, "utf8").toString("base64") : t;
  });
  // secret when it holds a password (registry_auth, a registry's admin credentials), secret env or the host key
  return bootHasSecrets(a.plan, a.image.password) ? pulumi.secret(text) : text;
}

/** Stack outputs every cloud program adds to RunOutputs. */
export function cloudOutputs(plan: Plan, settings: CloudSettings) {
  return {
    ssh_port: settings.container_ssh_port,
    ssh_user: "root",
    host_ssh_port: 22,
    run_name: plan.run_name,
    expires_at: plan.expires_at,
    /** The pinned host key of the run container's sshd (and the VM's), or null. */
    host_key: plan.ssh.host_key?.public_key ?? null,
  };
}
