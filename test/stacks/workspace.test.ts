import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cliStepLine, diyStacksDir, listStacksFromFiles, outputsOfCheckpoint, readOutputsFromFile, secretsPassphrase, stateBackendUrl, workspaceDir } from "../../src/stacks/workspace";

test("state backend URL: file://$DSTACK_HOME/state by default, DSTACK_STATE_URL otherwise; the fast path only for plain file paths", () => {
  expect(stateBackendUrl({ DSTACK_HOME: "/h" })).toBe("file:///h/state");
  expect(stateBackendUrl({ DSTACK_HOME: "/h", DSTACK_STATE_URL: "s3://bucket/x" })).toBe("s3://bucket/x");
  expect(diyStacksDir({ DSTACK_HOME: "/h" })).toBe("/h/state/.pulumi/stacks/dstack");
  expect(diyStacksDir({ DSTACK_STATE_URL: "s3://bucket" })).toBeNull();
  expect(diyStacksDir({ DSTACK_STATE_URL: "file://~" })).toBeNull();
  expect(diyStacksDir({ DSTACK_STATE_URL: "file:///x?no_tmp_dir=true" })).toBeNull();
  expect(workspaceDir({ DSTACK_HOME: "/h" })).not.toBe(workspaceDir({ DSTACK_HOME: "/h", DSTACK_STATE_URL: "s3://b" }));
});

test("checkpoint outputs with secrets masked; stack files listed without backups", () => {
  const doc = {
    version: 3,
    checkpoint: {
      latest: {
        resources: [
          { type: "pulumi:pulumi:Stack", outputs: { ssh_port: 4000, token: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:abc" }, nested: { a: [1] } } },
          { type: "pulumi:providers:pulumi-nodejs", outputs: {} },
        ],
      },
    },
  };
  expect(outputsOfCheckpoint(doc)).toEqual({ ssh_port: 4000, token: "[secret]", nested: { a: [1] } });
  expect(outputsOfCheckpoint({})).toEqual({});

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-ws-"));
  try {
    const env = { DSTACK_HOME: tmp };
    expect(listStacksFromFiles(env)).toEqual([]);
    const dir = diyStacksDir(env) as string;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "b-run.json"), JSON.stringify(doc));
    fs.writeFileSync(path.join(dir, "a-run.json.bak"), "{}");
    fs.writeFileSync(path.join(dir, "c-run.json.gz"), require("zlib").gzipSync(JSON.stringify(doc)));
    expect(listStacksFromFiles(env)).toEqual(["b-run", "c-run"]);
    expect(readOutputsFromFile("b-run", env)).toMatchObject({ ssh_port: 4000 });
    expect(readOutputsFromFile("c-run", env)).toMatchObject({ token: "[secret]" });
    expect(readOutputsFromFile("a-run", env)).toBeNull();
    expect(readOutputsFromFile("x", { DSTACK_STATE_URL: "s3://b" })).toBeUndefined();

    const p1 = secretsPassphrase(env);
    expect(p1.passphrase).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(secretsPassphrase(env)).toEqual(p1);
    expect(fs.statSync(path.join(tmp, "passphrase")).mode & 0o777).toBe(0o600);
    expect(secretsPassphrase({ ...env, PULUMI_CONFIG_PASSPHRASE: "given" })).toEqual({ passphrase: "given" });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("the CLI's plain destroy lines as steps", () => {
  expect(cliStepLine(" -  pulumi-nodejs:dynamic/dstack:LocalContainer container deleting (0s) ")).toEqual({ type: "pulumi-nodejs:dynamic/dstack:LocalContainer", name: "container", state: "start" });
  expect(cliStepLine(" -  pulumi-nodejs:dynamic/dstack:LocalContainer container deleted (0.31s) ")).toMatchObject({ state: "done" });
  expect(cliStepLine(" -  pulumi:pulumi:Stack dstack-r deleted (0.01s) ")).toBeNull();
  expect(cliStepLine("Resources:")).toBeNull();
});
