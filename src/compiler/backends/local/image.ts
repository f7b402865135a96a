/**
 * LocalImage: the image a run's container starts from, as a Pulumi dynamic provider (dockerode).
 *
 * Three kinds, as in the Plan (src/compiler/plan.ts, PlanImage):
 * - `base`: dstack's local base image (built by `dstack setup`); must be present.
 * - `user`: the configuration's `image:` as is; pulled (with registry_auth, a Pulumi secret)
 *   when absent.
 * - `prebuilt`: `build:` commands on top of `from`, tagged `dstack-prebuilt:<hash>` (hash of
 *   base image, build commands, python, nvcc). An existing prebuilt image is reused; a missing
 *   one is built only when `build_allowed` (`dstack up --build`), else create fails with the
 *   hint to run `dstack build`. (`dstack up` checks this before the engine runs, with
 *   `localPreflight()` in preflight.ts, so the engine normally finds the image present.)
 *
 * The image is a cache shared by every run (and by `dstack build`), so delete leaves it in
 * place. Output `image_id` feeds the container: a rebuilt image replaces the container.
 * read (refresh) sees a removed image (gone from state: the next `up` pulls/builds again)
 * and a re-tagged one (new image_id).
 *
 * `buildPrebuiltImage()` is the one build routine, used in-process by `dstack build` and
 * `dstack up --build` (streaming output to the caller) and inside the provider, where each
 * output line goes to the engine's log (`pulumi.log.info`, no stream written): the engine
 * streams it as a diagnostic event, which the CLI renders with the rest of the progress. The
 * engine's address reaches the log through PULUMI_NODEJS_ENGINE, set by the plugin's entry
 * (./plugin.ts) from its first argument.
 *
 * Served by dstack's provider plugin (./plugin.ts); declared by `LocalImage` (./resources.ts).
 * `buildPrebuiltImage` takes its modules by path (it also runs in the CLI's process).
 */
import type * as pulumi from "@pulumi/pulumi";

const DOCKERODE = require.resolve("dockerode");
const TAR_STREAM = require.resolve("tar-stream");
/** @pulumi/pulumi by absolute path, for its engine log inside the provider process (the same copy the provider runs). */
const PULUMI = require.resolve("@pulumi/pulumi");

export interface PrebuiltSpec {
  /** Image to build from. */
  from: string;
  commands: string[];
  python: string | null;
  nvcc: boolean;
  hash: string;
  /** Tag to give the result (`dstack-prebuilt:<hash>`). */
  ref: string;
  labels?: Record<string, string>;
}

export interface LocalImageInputs {
  kind: "base" | "user" | "prebuilt";
  /** The reference the container uses. */
  ref: string;
  /** For prebuilt images: what to build. */
  build: PrebuiltSpec | null;
  /** Build a missing prebuilt image (`--build`). */
  build_allowed: boolean;
  /** Registry credentials for `user` images (a Pulumi secret). */
  registry_auth: { username: string; password: string } | null;
  /** Set by LocalImage: the run (stack) and the resource's URN, labels of an image the engine builds (./urn.ts). */
  run?: string;
  resource_urn?: string;
}

export interface LocalImageOutputs extends LocalImageInputs {
  /** sha256:… id of `ref`. */
  image_id: string;
}

type DockerodeClass = typeof import("dockerode");

/**
 * Builds a prebuilt image over the Engine API: a two-file build context (Dockerfile and the
 * build script, packed with tar-stream), host networking (the engine has no bridge), output
 * lines passed to `onLine`. Resolves to the image id. Self-contained (serialized into state).
 */
export async function buildPrebuiltImage(
  spec: PrebuiltSpec,
  onLine: (line: string) => void,
  modules: { dockerode: string; tarStream: string } = { dockerode: DOCKERODE, tarStream: TAR_STREAM },
): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- dynamic-provider closure: serialized into state, it loads its modules itself (see container.ts)
  const Docker = require(modules.dockerode) as DockerodeClass;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- dynamic-provider closure: serialized into state, it loads its modules itself (see container.ts)
  const tar = require(modules.tarStream) as typeof import("tar-stream");
  const docker = new Docker();
  const script = ["set -e", "export DEBIAN_FRONTEND=noninteractive", ...spec.commands].join("\n") + "\n";
  const labels = { ...(spec.labels ?? {}), "dstack.prebuilt": spec.hash, "dstack.from": spec.from };
  const dockerfile = [
    `FROM ${spec.from}`,
    "COPY dstack-build.sh /tmp/dstack-build.sh",
    'RUN if [ -x /bin/bash ]; then /bin/bash -e /tmp/dstack-build.sh; else /bin/sh -e /tmp/dstack-build.sh; fi && rm -f /tmp/dstack-build.sh',
    `LABEL ${Object.entries(labels).map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(" ")}`,
  ].join("\n") + "\n";
  const pack = tar.pack();
  pack.entry({ name: "Dockerfile", mode: 0o644 }, dockerfile);
  pack.entry({ name: "dstack-build.sh", mode: 0o755 }, script);
  pack.finalize();
  const stream = await docker.buildImage(pack as unknown as NodeJS.ReadableStream, {
    t: spec.ref,
    networkmode: "host",
    rm: true,
    forcerm: true,
  });
  let error: string | null = null;
  let pending = "";
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (ev: { stream?: string; error?: string; errorDetail?: { message?: string }; status?: string }) => {
        if (ev.error) error = ev.errorDetail?.message ?? ev.error;
        const text = ev.stream ?? (ev.status ? ev.status + "\n" : "");
        pending += text;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const l of lines) if (l.trim()) onLine(l.replace(/\r/g, ""));
      },
    );
  });
  if (pending.trim()) onLine(pending);
  if (error) throw new Error(`building ${spec.ref} failed: ${error}`);
  const info = await docker.getImage(spec.ref).inspect();
  return info.Id;
}

/** Pulls `ref` (with credentials when given), waiting for the pull to finish. */
async function pullImage(ref: string, auth: { username: string; password: string } | null): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded where used (see container.ts)
  const Docker = require("dockerode") as DockerodeClass;
  const docker = new Docker();
  const opts = auth ? { authconfig: { username: auth.username, password: auth.password } } : {};
  const stream = await docker.pull(ref, opts);
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
}

async function imageId(ref: string): Promise<string | null> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded where used (see container.ts)
  const Docker = require("dockerode") as DockerodeClass;
  const docker = new Docker();
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return null;
    throw e;
  }
}

export const imageProvider: pulumi.dynamic.ResourceProvider<LocalImageInputs, LocalImageOutputs> = {
  // Only the reference matters once the image exists: `build` is part of the prebuilt ref
  // (its hash), and `build_allowed` / `registry_auth` only matter when the image is first
  // made. Reporting them as changes would turn the image's `image_id` unknown in a preview
  // and so show the container as replaced when `--build` is merely added or dropped.
  async diff(_id: string, olds: LocalImageOutputs, news: LocalImageInputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = olds.ref !== news.ref || olds.kind !== news.kind ? ["ref"] : [];
    return { changes: replaces.length > 0, replaces };
  },

  async create(inputs: LocalImageInputs): Promise<pulumi.dynamic.CreateResult<LocalImageOutputs>> {
    let id = await imageId(inputs.ref);
    if (!id) {
      if (inputs.kind === "base") {
        throw new Error(`the base image ${inputs.ref} is not in the Docker engine: run \`dstack setup\``);
      } else if (inputs.kind === "user") {
        try {
          await pullImage(inputs.ref, inputs.registry_auth);
        } catch (e) {
          throw new Error(`cannot pull image ${inputs.ref}: ${(e as Error).message}`, { cause: e });
        }
        id = await imageId(inputs.ref);
      } else {
        if (!inputs.build) throw new Error(`prebuilt image ${inputs.ref} has no build spec`);
        if (!inputs.build_allowed) {
          throw new Error(`the prebuilt image ${inputs.ref} for build: does not exist: run \`dstack build\` or add --build`);
        }
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- dynamic-provider closure: serialized into state, it loads its modules itself (see container.ts)
        const log = (require(PULUMI) as typeof pulumi).log;
        const labels = { ...(inputs.build.labels ?? {}), ...(inputs.run ? { "dstack.run": inputs.run } : {}), ...(inputs.resource_urn ? { "dstack.urn": inputs.resource_urn } : {}) };
        let logged: Promise<void> = Promise.resolve();
        try {
          id = await buildPrebuiltImage({ ...inputs.build, labels }, (line) => (logged = log.info(`[build] ${line}`)));
        } finally {
          await logged; // log calls are sent in order: the last one done means all are
        }
      }
    }
    if (!id) throw new Error(`image ${inputs.ref} not found after pull`);
    return { id: inputs.ref, outs: { ...inputs, image_id: id } };
  },

  async read(id: string, props?: LocalImageOutputs): Promise<pulumi.dynamic.ReadResult<LocalImageOutputs>> {
    const current = await imageId(id);
    if (!current) return {};
    return { id, props: { ...((props ?? {}) as LocalImageOutputs), ref: id, image_id: current } };
  },

  async update(_id: string, olds: LocalImageOutputs, news: LocalImageInputs): Promise<pulumi.dynamic.UpdateResult<LocalImageOutputs>> {
    const current = (await imageId(news.ref)) ?? olds.image_id;
    return { outs: { ...news, image_id: current } };
  },

  // Images are a cache shared by runs and `dstack build`: deleting a run keeps them.
  async delete(): Promise<void> {},
};
