/**
 * The tags/labels policy: every taggable resource of a run carries the plan's tags
 * (`dstack:run`, `dstack:project`, `dstack:owner`, `dstack:expires-at`, …), applied ONCE for the
 * whole stack as a stack transformation, so no backend has to remember it per resource.
 *
 * A resource is taggable when its SDK class declares the input: AWS and Azure `tags`
 * (a string map), GCP `labels` (GCP's `tags` are network tags, a string list, and are left alone).
 * Each cloud's rules for keys and values are applied here:
 * - AWS: keys ≤128, values ≤256, letters, digits, spaces and `+-=._:/@`.
 * - GCP: keys and values lowercase `[a-z0-9_-]`, ≤63; keys start with a letter
 *   (`dstack:run` → `dstack_run`, `2026-12-01T10:00:00.000Z` → `2026-12-01t10_00_00_000z`).
 * - Azure: keys ≤512 without `<>%&\?/`, values ≤256.
 *
 * Uses `pulumi.runtime.registerStackTransformation`: it runs in-process, so it works both under
 * the real engine and under `setMocks` (the newer `registerResourceTransform` needs the engine's
 * callback server, which the mock monitor does not offer).
 */
import * as pulumi from "@pulumi/pulumi";

export type TagCloud = "aws" | "gcp" | "azure";

/** The cloud a Pulumi type token belongs to (`aws:ec2/instance:Instance` → aws), if one we tag. */
export function cloudOfType(type: string): TagCloud | null {
  const pkg = type.split(":")[0];
  if (pkg === "aws") return "aws";
  if (pkg === "gcp") return "gcp";
  if (pkg === "azure-native") return "azure";
  return null;
}

function gcpLabelPart(s: string, isKey: boolean): string {
  let out = s.toLowerCase().replace(/[^a-z0-9_-]/g, "_");
  if (isKey && !/^[a-z]/.test(out)) out = `k${out}`;
  return out.slice(0, 63);
}

function awsTagPart(s: string, max: number): string {
  return s.replace(/[^\p{L}\p{N} +\-=._:/@]/gu, "_").slice(0, max);
}

function azureTagKey(s: string): string {
  return s.replace(/[<>%&\\?/]/g, "_").slice(0, 512);
}

/** The plan's tags as the given cloud accepts them (keys and values sanitized). */
export function cloudTags(cloud: TagCloud, tags: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) {
    if (cloud === "gcp") out[gcpLabelPart(k, true)] = gcpLabelPart(v, false);
    else if (cloud === "aws") out[awsTagPart(k, 128)] = awsTagPart(v, 256);
    else out[azureTagKey(k)] = v.slice(0, 256);
  }
  return out;
}

type Props = Record<string, unknown>;

/**
 * Returns the props with the policy's tags merged in (the resource's own tags win), or
 * `undefined` when the resource is not taggable. Pure: exported for tests.
 */
export function tagProps(type: string, props: Props, tags: Record<string, string>): Props | undefined {
  const cloud = cloudOfType(type);
  if (!cloud) return undefined;
  const key = cloud === "gcp" ? "labels" : "tags";
  if (!(key in props)) return undefined;
  // GCP's `tags` on instances are network tags (string[]); an AWS/Azure `tags` that is a list is not a tag map either.
  if (Array.isArray(props[key])) return undefined;
  const policy = cloudTags(cloud, tags);
  const own = props[key];
  const merged: Props = { ...props };
  if (own === undefined || own === null) merged[key] = policy;
  else if (pulumi.Output.isInstance(own))
    merged[key] = (own as pulumi.Output<Record<string, string> | undefined>).apply((t) => ({ ...policy, ...(t ?? {}) }));
  else merged[key] = { ...policy, ...(own as Record<string, string>) };
  // AWS instances: tag the root volume through rootBlockDevice.tags, never volumeTags, which
  // together with tags on an attached ebs.Volume cycles both resources (the SDK documents this).
  const root = props.rootBlockDevice;
  if (cloud === "aws" && type === "aws:ec2/instance:Instance" && root && typeof root === "object" && !pulumi.Output.isInstance(root) && (root as Props).tags == null)
    merged.rootBlockDevice = { ...(root as Props), tags: policy };
  return merged;
}

/**
 * Registers the tags policy for the current stack. Call once, at the top of a program, before any
 * resource is created. Reads (`Resource.get`) are left as they are.
 */
export function applyTagsPolicy(tags: Record<string, string>): void {
  pulumi.runtime.registerStackTransformation((args) => {
    if ((args.opts as pulumi.CustomResourceOptions).id !== undefined) return undefined;
    const props = tagProps(args.type, args.props as Props, tags);
    return props ? { props, opts: args.opts } : undefined;
  });
}
