/**
 * Crash safety without the engine: pending operations read from a checkpoint, the lock check,
 * what `down` prints, and Docker unreachable for `ps` (E4104, exit 5, runs still listed) and
 * `down` (E4101, exit 5, no stack frame). The state is a hand-written checkpoint in the file
 * backend's layout (`.pulumi/stacks/dstack/<run>.json`); DOCKER_HOST names a socket that does
 * not exist (the shared dockerd is never stopped).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runInProcess as run } from "../support/in-process-cli";
import { renderDown } from "../../src/cli/down";
import { pendingOperationsOf, readPendingOperations, recordedIdsOf, stackLockedInFiles } from "../../src/stacks/pending";
import { isLocalResourceType } from "../../src/runs/cleanup";

const CONTAINER = "pulumi-nodejs:dynamic/dstack:LocalContainer";

function checkpoint(run: string, o: { pending?: boolean } = {}): unknown {
  const urn = (type: string, name: string) => `urn:pulumi:${run}::dstack::${type}::${name}`;
  return {
    version: 3,
    checkpoint: {
      stack: `organization/dstack/${run}`,
      latest: {
        manifest: { time: "2026-01-01T00:00:00Z", magic: "", version: "v3.248.0" },
        resources: [
          {
            urn: urn("pulumi:pulumi:Stack", `dstack-${run}`),
            custom: false,
            type: "pulumi:pulumi:Stack",
            outputs: {
              backend: "local",
              instance_id: "0123456789ab",
              ssh_host: "127.0.0.1",
              dstack_run: { name: run, backend: "local", created_at: "2026-01-01T00:00:00.000Z", price: 0, resources: "2xCPU, 4GB" },
            },
          },
        ],
        ...(o.pending ? { pending_operations: [{ resource: { urn: urn(CONTAINER, "container"), custom: true, type: CONTAINER }, type: "creating" }] } : {}),
      },
    },
  };
}

function home(runs: Record<string, unknown>): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-crash-"));
  const stacks = path.join(dir, "state", ".pulumi", "stacks", "dstack");
  fs.mkdirSync(stacks, { recursive: true });
  for (const [name, doc] of Object.entries(runs)) fs.writeFileSync(path.join(stacks, `${name}.json`), JSON.stringify(doc));
  const env: NodeJS.ProcessEnv = { ...process.env, DSTACK_HOME: dir, HOME: dir };
  delete env.DSTACK_STATE_URL;
  return { dir, env };
}

describe("pending operations", () => {
  test("are read from a checkpoint file and from a `stack export` document", () => {
    const doc = checkpoint("r1", { pending: true }) as { checkpoint: { latest: unknown } };
    const ops = pendingOperationsOf(doc);
    expect(ops).toEqual([{ type: "creating", urn: `urn:pulumi:r1::dstack::${CONTAINER}::container`, resourceType: CONTAINER, id: null }]);
    expect(pendingOperationsOf({ version: 3, deployment: doc.checkpoint.latest })).toEqual(ops);
    expect(pendingOperationsOf(checkpoint("r1"))).toEqual([]);
    expect(pendingOperationsOf(null)).toEqual([]);
    // the ids the state records are never taken for leftovers of a pending create
    expect(recordedIdsOf({ deployment: { resources: [{ id: "" }, { id: "c0ffee" }, {}] } })).toEqual(["c0ffee"]);
    expect(isLocalResourceType(CONTAINER)).toBe(true);
    expect(isLocalResourceType("aws:ec2/instance:Instance")).toBe(false);
  });

  test("the file backend's checkpoint is read without the engine; a missing stack has none", async () => {
    const h = home({ r1: checkpoint("r1", { pending: true }), r2: checkpoint("r2") });
    try {
      expect((await readPendingOperations("r1", h.env)).map((o) => o.type)).toEqual(["creating"]);
      expect(await readPendingOperations("r2", h.env)).toEqual([]);
      expect(await readPendingOperations("nope", h.env)).toEqual([]);
    } finally {
      fs.rmSync(h.dir, { recursive: true, force: true });
    }
  });

  test("a stack with a lock file is seen as locked (its pending operations may be in flight)", () => {
    const h = home({ r1: checkpoint("r1", { pending: true }) });
    try {
      expect(stackLockedInFiles("r1", h.env)).toBe(false);
      const locks = path.join(h.dir, "state", ".pulumi", "locks", "organization", "dstack", "r1");
      fs.mkdirSync(locks, { recursive: true });
      fs.writeFileSync(path.join(locks, "abc.json"), "{}");
      expect(stackLockedInFiles("r1", h.env)).toBe(true);
      expect(stackLockedInFiles("r2", h.env)).toBe(false);
      expect(stackLockedInFiles("r1", { ...h.env, DSTACK_STATE_URL: "s3://bucket" })).toBe(false);
    } finally {
      fs.rmSync(h.dir, { recursive: true, force: true });
    }
  });
});

test("down reports what an interrupted command left, as data and as text", () => {
  const text = renderDown("r1", { removedVolumes: [], leftovers: { containers: ["dstack-r1"], volumes: ["v1"] }, pendingCleared: 1, volumesInUse: ["shared"] });
  expect(text.split("\n")).toEqual([
    "r1 deleted.",
    "Removed what an interrupted command had left: container dstack-r1, volume v1.",
    "Cleared 1 pending operation of an interrupted command from the state.",
    "Kept volumes still mounted by another run: shared.",
  ]);
  expect(renderDown("r1", { removedVolumes: ["v"], leftovers: { containers: [], volumes: [] }, pendingCleared: 0, volumesInUse: [] })).toBe("r1 deleted. Volumes removed: v.");
});

describe("Docker unreachable", () => {
  const noDocker = "unix:///nonexistent/dstack-test/docker.sock";

  test("ps lists the runs from the state (status unknown), warns E4104 and exits 5", async () => {
    const h = home({ r1: checkpoint("r1"), r2: checkpoint("r2") });
    try {
      const r = await run(["ps", "--json"], { DSTACK_HOME: h.dir, DOCKER_HOST: noDocker, DSTACK_STATE_URL: undefined });
      expect(r.code).toBe(5);
      // the status is the record's; what Docker would say about the containers is unknown
      const runs = JSON.parse(r.stdout) as { name: string; status: string; backend: string; instance: string }[];
      expect(runs.map((x) => [x.name, x.backend, x.status, x.instance])).toEqual([["r1", "local", "running", "unknown"], ["r2", "local", "running", "unknown"]]);
      expect(r.stderr).toContain("[E4104]");
      expect(r.stderr).toContain("nonexistent/dstack-test/docker.sock");
      expect(r.stderr).not.toMatch(/\n\s+at /);
      const t = await run(["ps"], { DSTACK_HOME: h.dir, DOCKER_HOST: noDocker, DSTACK_STATE_URL: undefined });
      expect(t.code).toBe(5);
      expect(t.stdout).toMatch(/^r1\s+local\s+.*unknown/m);
    } finally {
      fs.rmSync(h.dir, { recursive: true, force: true });
    }
  });

  test("ps without runs needs no Docker and exits 0", async () => {
    const h = home({});
    try {
      const r = await run(["ps"], { DSTACK_HOME: h.dir, DOCKER_HOST: noDocker, DSTACK_STATE_URL: undefined });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
    } finally {
      fs.rmSync(h.dir, { recursive: true, force: true });
    }
  });

  test("down of a local run is E4101, exit 5, no stack frame, and changes nothing", async () => {
    const h = home({ r1: checkpoint("r1", { pending: true }) });
    try {
      const r = await run(["down", "r1", "-y"], { DSTACK_HOME: h.dir, DOCKER_HOST: noDocker, DSTACK_STATE_URL: undefined });
      expect(r.code).toBe(5);
      expect(r.stderr).toContain("[E4101]");
      expect(r.stderr).toContain("no Docker engine at unix:///nonexistent/dstack-test/docker.sock");
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).not.toContain("deleted");
      expect(fs.existsSync(path.join(h.dir, "state", ".pulumi", "stacks", "dstack", "r1.json"))).toBe(true);
      const j = await run(["down", "r1", "-y", "--json"], { DSTACK_HOME: h.dir, DOCKER_HOST: noDocker, DSTACK_STATE_URL: undefined });
      expect(j.code).toBe(5);
      expect(JSON.parse(j.stdout)).toMatchObject({ error: { code: "E4101", exit_code: 5 } });
    } finally {
      fs.rmSync(h.dir, { recursive: true, force: true });
    }
  });
});
