/**
 * `build:` on the local backend end to end: without a prebuilt image `dstack up` refuses and
 * says what to do; `--build` builds it (apt-get install of a small package) and the run has
 * it; after `down`, the next `up` reuses the image without building.
 */
import { describeWhen } from "../support/requirements";
import { cleanup, docker, dstack, e2ePrerequisites, makeSandbox, ok, ssh, testId, writeConfig, type Sandbox } from "./helpers";

jest.setTimeout(900_000);

const id = testId();
const run = `e2e-build-${id}`;

describeWhen(e2ePrerequisites, "build: a prebuilt image, built once and reused", () => {
  let sb: Sandbox;
  let imageTag = "";
  beforeAll(() => {
    sb = makeSandbox("build");
    // the id makes the image's content hash unique to this test run
    writeConfig(
      sb,
      `type: dev-environment
name: ${run}
build:
  - apt-get update -qq
  - DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tree
  - echo ${id} > /etc/e2e-build-id
resources:
  disk: 1GB..
`,
    );
  });
  afterAll(() => {
    cleanup(sb, [run]);
    if (imageTag) docker(["rmi", "-f", imageTag]);
  });

  test("without the image and without --build, up says to build and creates nothing", () => {
    const r = dstack(sb, ["up", "-y"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/dstack build|--build/);
    expect(JSON.parse(ok(dstack(sb, ["ps", "--json"]), "ps"))).toEqual([]);
    expect(docker(["inspect", `dstack-${run}`]).status).not.toBe(0);
  });

  test("up --build builds the image; the run has the package", () => {
    ok(dstack(sb, ["up", "-y", "--build"]), "dstack up --build");
    expect(ok(ssh(sb, run, "tree --version; cat /etc/e2e-build-id"), "ssh")).toMatch(new RegExp(`tree v[\\d.]+[\\s\\S]*${id}`));
    const imageId = ok(docker(["inspect", "-f", "{{.Image}}", `dstack-${run}`]), "inspect").trim();
    const tags = ok(docker(["image", "inspect", "-f", "{{join .RepoTags \" \"}}", imageId]), "image inspect").trim().split(" ");
    imageTag = tags.find((t) => /^dstack-prebuilt:[0-9a-f]{16}$/.test(t)) ?? "";
    expect(imageTag).not.toBe("");
  });

  test("after down, up reuses the prebuilt image without building", () => {
    const imageId = ok(docker(["image", "inspect", "-f", "{{.Id}}", imageTag]), "image inspect").trim();
    ok(dstack(sb, ["down", run, "-y"]), "dstack down");
    const r = dstack(sb, ["up", "-y"]);
    ok(r, "dstack up (reuse)");
    expect(r.stderr).not.toMatch(/apt-get|Reading package lists/);
    expect(ok(docker(["image", "inspect", "-f", "{{.Id}}", imageTag]), "image inspect").trim()).toBe(imageId);
    expect(ok(ssh(sb, run, "tree --version"), "ssh")).toMatch(/tree v/);
    ok(dstack(sb, ["down", run, "-y"]), "dstack down");
  });
});
