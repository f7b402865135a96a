/**
 * The resource lists of the confirmations: what a new run's `up` will create (from Pulumi's
 * preview: `newRunResources`) and what `down` will delete (from the run's state:
 * `runResourcesToDelete`), one line per resource with its type, its name and the few
 * properties that identify it, as Pulumi users expect before they answer "y". And the note of
 * a prebuilt image that `up` will build after the confirmation. The rendering is pure.
 */
import type { PlannedRun } from "../runs/lifecycle";
import type { StateResource } from "../stacks/checkpoint";
import type { ResourceChange } from "../stacks/events";
import type { PrebuiltBuild } from "../runs/image-build";

/** The properties that identify a resource of a type (by the type's last part), in the order shown. */
const KEY_PROPERTIES: Record<string, string[]> = {
  LocalContainer: ["name", "image", "repo_dir", "ssh_port", "cpus", "memory", "gpus"],
  LocalImage: ["ref", "kind"],
  LocalVolume: ["name"],
  Instance: ["instanceType", "machineType", "ami", "zone", "availabilityZone"],
  SecurityGroup: ["name", "vpcId"],
  KeyPair: ["keyName"],
  Volume: ["size", "type", "availabilityZone"],
  Disk: ["size", "type", "zone"],
  Firewall: ["network"],
  LinuxVirtualMachine: ["size", "location"],
  VirtualMachine: ["vmSize", "location"],
};
/** What else identifies a resource of another type. */
const FALLBACK_PROPERTIES = ["name", "region", "zone", "location", "size"];

/** `pulumi-nodejs:dynamic/dstack:LocalContainer` → `LocalContainer`; `aws:ec2/instance:Instance` → `Instance`. */
export function shortType(type: string): string {
  const i = type.lastIndexOf(":");
  return i >= 0 ? type.slice(i + 1) : type;
}

function scalar(v: unknown): string | null {
  if (v === null || v === undefined || v === "") return null;
  if (typeof v === "string") return v.length > 60 ? v.slice(0, 57) + "…" : v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return v.length ? `[${v.length}]` : null;
  return null;
}

/** `key=value` pairs of the identifying properties found in `props`. */
export function keyProperties(type: string, props: Record<string, unknown>): string[] {
  const keys = KEY_PROPERTIES[shortType(type)] ?? FALLBACK_PROPERTIES;
  const out: string[] = [];
  for (const k of keys) {
    const v = scalar(props[k]);
    if (v !== null) out.push(`${k}=${v}`);
  }
  return out;
}

export interface ListedResource {
  /** `+` create, `-` delete, ` ` kept (deleting the stack leaves it in place). */
  mark: "+" | "-" | " ";
  type: string;
  name: string;
  properties: string[];
  note?: string;
}

/** A new run's resources, from its preview's creates. */
export function resourcesToCreate(changes: ResourceChange[]): ListedResource[] {
  return changes.filter((c) => c.op === "create").map((c) => ({ mark: "+", type: shortType(c.type), name: c.name, properties: keyProperties(c.type, c.inputs ?? {}) }));
}

/**
 * A run's resources as `down` treats them, from its state: deleted, or kept where the state
 * says so (retainOnDelete: images are a shared cache; named volumes unless --volumes).
 */
export function resourcesToDelete(resources: StateResource[], opts: { volumes?: boolean } = {}): ListedResource[] {
  return resources.map((r) => {
    const props = keyProperties(r.type, { ...r.inputs, ...r.outputs });
    const t = shortType(r.type);
    const isVolume = t === "LocalVolume" || t === "Volume" || t === "Disk" || t === "ManagedDisk";
    if (isVolume && opts.volumes) return { mark: "-", type: t, name: r.name, properties: props };
    if (r.retained) return { mark: " ", type: t, name: r.name, properties: props, note: isVolume ? "kept (--volumes deletes it)" : "kept (shared)" };
    return { mark: "-", type: t, name: r.name, properties: props };
  });
}

/** The list under a title, one resource a line: `  + LocalContainer  container  (name=…, image=…)`. */
export function renderResourceList(title: string, items: ListedResource[]): string {
  if (items.length === 0) return `${title}: none`;
  const typeWidth = Math.max(...items.map((i) => i.type.length));
  const nameWidth = Math.max(...items.map((i) => i.name.length));
  const lines = items.map((i) => {
    const props = i.properties.length ? `  ${i.properties.join(", ")}` : "";
    const note = i.note ? `  [${i.note}]` : "";
    return `  ${i.mark} ${i.type.padEnd(typeWidth)}  ${i.name.padEnd(nameWidth)}${props}${note}`.trimEnd();
  });
  const counts = { "+": 0, "-": 0, " ": 0 };
  for (const i of items) counts[i.mark]++;
  const summary = [counts["+"] ? `${counts["+"]} to create` : "", counts["-"] ? `${counts["-"]} to delete` : "", counts[" "] ? `${counts[" "]} kept` : ""].filter(Boolean).join(", ");
  return `${title} (${summary}):\n${lines.join("\n")}`;
}

/** The note of a prebuilt image `up` builds after the confirmation. */
export function renderPendingBuild(b: PrebuiltBuild, rebuild: boolean): string {
  const n = b.commands.length;
  return `Image: ${b.ref} will be ${rebuild ? "built again (--force-build)" : "built (--build)"} before the run starts: ${n} build: command${n === 1 ? "" : "s"} on ${b.from}, in ${b.working_dir} with the repo's files.`;
}

/** The list of a new run's resources, from a Pulumi preview (the run's key is kept for the `up` that follows). */
export async function newRunResources(planned: PlannedRun): Promise<string> {
  const { previewRun } = await import("../runs/lifecycle");
  const changes = await previewRun(planned, { keepKey: true });
  return renderResourceList(`${planned.plan.run_name} is new; up will create`, resourcesToCreate(changes)) + "\n";
}

/** The list of what `down` deletes and keeps, from the run's state; null when the state cannot be read directly. */
export async function runResourcesToDelete(name: string, opts: { volumes?: boolean } = {}): Promise<string | null> {
  const { readCheckpointFile, resourcesOfCheckpoint } = await import("../stacks/checkpoint");
  const doc = readCheckpointFile(name);
  if (!doc) return null;
  return renderResourceList(`down will delete ${name}`, resourcesToDelete(resourcesOfCheckpoint(doc), opts));
}
