/** The run's log and how a task's end is read from its container (pure parts). */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { appendRunLog, localContainerOf, readRunLog, removeRunLog, runLogPath, taskEndReason } from "../../src/runs/run-log";
import { taskExit } from "../../src/cli/task-follow";
import { portsToForward } from "../../src/cli/attach";
import { forwardArgs } from "../../src/ssh/forward";

test("a task's end: its commands' exit code once the start script reached them, else the start script's error", () => {
  expect(taskEndReason(3, "[dstack] sshd on 127.0.0.1:2000\n[dstack] commands\nhi\n")).toEqual({ kind: "exited", exit_code: 3 });
  expect(taskEndReason(0, "[dstack] commands\n")).toEqual({ kind: "exited", exit_code: 0 });
  expect(taskEndReason(98, "[dstack] init\n[dstack] error: init failed (exit 3)\n")).toEqual({ kind: "setup_failed", exit_code: 98, message: "init failed (exit 3)" });
  expect(taskEndReason(1, "")).toMatchObject({ kind: "setup_failed", message: "the start script exited with code 1 before the commands ran" });
});

test("up's exit for a task: the task's own code, E6202 for a setup failure, E6203 otherwise", () => {
  expect(taskExit("t", { kind: "exited", exit_code: 3 })).toEqual({ exitCode: 3 });
  expect(taskExit("t", { kind: "exited", exit_code: 0 })).toEqual({ exitCode: 0 });
  const setup = taskExit("t", { kind: "setup_failed", message: "init failed (exit 3)" });
  expect("error" in setup && setup.error).toMatchObject({ exitCode: 4, diagnostics: [{ code: "E6202", message: "t failed before its commands ran: setup failed: init failed (exit 3)" }] });
  const stopped = taskExit("t", { kind: "stopped_by_user" });
  expect("error" in stopped && stopped.error).toMatchObject({ exitCode: 1, diagnostics: [{ code: "E6203" }] });
});

test("attach forwards mapped ports; on local a port mapped to itself is already on localhost", () => {
  const ports = [{ local_port: 8080, container_port: 80 }, { local_port: 9000, container_port: 9000 }];
  expect(portsToForward("local", ports)).toEqual({ forward: [ports[0]], direct: [ports[1]] });
  expect(portsToForward("aws", ports)).toEqual({ forward: ports, direct: [] });
  expect(forwardArgs("/h/ssh/config", "r1", [ports[0]])).toEqual(["-F", "/h/ssh/config", "-N", "-o", "ExitOnForwardFailure=yes", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=15", "-L", "127.0.0.1:8080:localhost:80", "r1"]);
});

test("the run's log lives under DSTACK_HOME, per state backend, with stamped lines", () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-runlog-"));
  const env = { ...process.env, DSTACK_HOME: home, DSTACK_STATE_URL: "" };
  try {
    expect(runLogPath("r1", env).startsWith(path.join(home, "logs"))).toBe(true);
    expect(runLogPath("r1", { ...env, DSTACK_STATE_URL: "s3://b" })).not.toBe(runLogPath("r1", env));
    appendRunLog("r1", "submitted: attempt 1\nprovisioned", env, new Date("2026-01-01T00:00:00Z"));
    expect(readRunLog("r1", env)).toBe("2026-01-01T00:00:00.000Z submitted: attempt 1\n2026-01-01T00:00:00.000Z provisioned\n");
    removeRunLog("r1", env);
    expect(readRunLog("r1", env)).toBe("");
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
  expect(localContainerOf({ backend: "local", instance_id: "abc" })).toBe("abc");
  expect(localContainerOf({ backend: "aws", instance_id: "i-1" })).toBeNull();
  expect(localContainerOf(null)).toBeNull();
});
