/**
 * LocalImage: the image a run's container starts from, as a Pulumi dynamic provider (dockerode).
 *
 * Three kinds, as in the Plan (src/compiler/plan.ts, PlanImage):
 * - `base`: dstack's local base image (built by `dstack setup`); must be present.
 * - `user`: the configuration's `image:` as is; pulled (with registry_auth, a Pulumi secret)
 *   when absent.
 * - `prebuilt`: `build:` commands on top of `from`, tagged `dstack-prebuilt:<hash>` (hash of
 *   base image, build commands, python, nvcc, the repo's files and the working directory). The
 *   engine never builds it: `dstack build`, or `dstack up --build` after the plan and the
 *   confirmation, builds it first (src/runs/image-build.ts, with the repo as build context),
 *   and `dstack up` checks before the engine runs that it exists (src/runs/local-preflight.ts);
 *   a prebuilt image still missing here fails create with the hint to run `dstack build`.
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

/** What a prebuilt image is built from (the Plan's image.build plus its tag), kept in state for the record. */
export interface PrebuiltSpec {
  /** Image to build from. */
  from: string;
  commands: string[];
  python: string | null;
  nvcc: boolean;
  hash: string;
  working_dir?: string;
  context_hash?: string;
  /** Tag of the result (`dstack-prebuilt:<hash>`). */
  ref: string;
}

export interface LocalImageInputs {
  kind: "base" | "user" | "prebuilt";
  /** The reference the container uses. */
  ref: string;
  /** For prebuilt images: what it is built from. */
  build: PrebuiltSpec | null;
  /** Registry credentials for `user` images (a Pulumi secret). */
  registry_auth: { username: string; password: string } | null;
}

export interface LocalImageOutputs extends LocalImageInputs {
  /** sha256:… id of `ref`. */
  image_id: string;
}

type DockerodeClass = typeof import("dockerode");

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
  // (its hash), and `registry_auth` only matters when the image is first pulled. Reporting
  // them as changes would turn the image's `image_id` unknown in a preview and so show the
  // container as replaced when credentials merely rotate.
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
        // built before the engine runs (src/runs/image-build.ts), after the plan was confirmed
        throw new Error(`the prebuilt image ${inputs.ref} for build: does not exist: run \`dstack build\` or add --build`);
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
