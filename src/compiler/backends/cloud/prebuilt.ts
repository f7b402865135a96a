/**
 * Prebuilt images on clouds: with `build:`, `@pulumi/docker` builds an image from a generated
 * Dockerfile and pushes it to the cloud's registry (ECR, Artifact Registry, ACR), tagged by the
 * plan's content hash. The registry itself lives in a shared per-project stack (see each
 * backend's `registryProgram`), so it outlives runs and the next run with the same `build`
 * finds the same tag; the image resource is retained on `dstack down`.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { homePaths } from "../../../paths";
import type { Plan } from "../../plan";
import type { RegistryLogin } from "./cloud-init";

/** The Dockerfile of a prebuilt image: the base image plus the `build` commands, one layer each. */
export function prebuiltDockerfile(build: NonNullable<Plan["image"]["build"]>): string {
  const lines = [
    `# dstack prebuilt image ${build.hash}: generated from the run's \`build\` commands`,
    `FROM ${build.from}`,
    `LABEL ai.dstack.prebuilt-hash="${build.hash}"`,
  ];
  if (build.python) lines.push(`ENV DSTACK_PYTHON=${build.python}`);
  for (const cmd of build.commands) lines.push(`RUN ${JSON.stringify(["/bin/sh", "-c", cmd])}`);
  return lines.join("\n") + "\n";
}

/** Writes the build context (just the Dockerfile) under DSTACK_HOME/cache/prebuilt/<hash>; returns its folder. */
export function writeBuildContext(build: NonNullable<Plan["image"]["build"]>, env: NodeJS.ProcessEnv = process.env): string {
  const dir = path.join(homePaths(env).cache, "prebuilt", build.hash);
  const file = path.join(dir, "Dockerfile");
  const text = prebuiltDockerfile(build);
  if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, text);
  }
  return dir;
}

export interface PrebuiltImageArgs {
  plan: Plan;
  /** Repository to push to, without tag (`123.dkr.ecr.us-east-1.amazonaws.com/dstack-main`). */
  repository: pulumi.Input<string>;
  /** Credentials of the registry (the password a secret). */
  login: pulumi.Input<RegistryLogin>;
  /** Target platform (`linux/amd64` or `linux/arm64`). */
  platform: string;
}

/** The prebuilt image of a run: a component holding the docker build-and-push. */
export class PrebuiltImage extends pulumi.ComponentResource {
  /** Full pushed name, `repository:hash`. */
  readonly imageName: pulumi.Output<string>;
  readonly repoDigest: pulumi.Output<string>;

  constructor(name: string, args: PrebuiltImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dstack:cloud:PrebuiltImage", name, {}, opts);
    const build = args.plan.image.build;
    if (!build) throw new Error("PrebuiltImage needs a plan with a prebuilt image");
    const context = writeBuildContext(build);
    const login = pulumi.output(args.login);
    const image = new docker.Image(
      `${name}-image`,
      {
        imageName: pulumi.interpolate`${args.repository}:${build.hash}`,
        build: { context, dockerfile: path.join(context, "Dockerfile"), platform: args.platform },
        registry: {
          server: login.server,
          username: login.username,
          password: pulumi.secret(login.password),
        },
        buildOnPreview: false,
      },
      { parent: this, retainOnDelete: true },
    );
    this.imageName = image.imageName;
    this.repoDigest = image.repoDigest;
    this.registerOutputs({ imageName: this.imageName, repoDigest: this.repoDigest });
  }
}
