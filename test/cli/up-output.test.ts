import { connectionText, renderPlanTable } from "../../src/cli/up";
import { renderRuns } from "../../src/cli/ps";
import { ideUrl } from "../../src/runs/lifecycle";
import { DEFAULT_RESOURCES, type DevEnvironmentRunSpec } from "../../src/config/runspec";
import type { Offer } from "../../src/offers/offer";

const local: Offer = {
  backend: "local", region: "local", zone: null, instance_type: "vm", price: 0, spot: false, cpu: 2, cpu_arch: "x86", memory: 23.5, disk: 71.6,
  gpu_count: 0, gpu_name: null, gpu_memory: null, gpu_vendor: null, flags: [], provider_data: {},
};
const aws: Offer = { ...local, backend: "aws", region: "us-east-1", instance_type: "g5.xlarge", price: 1.006, spot: true, cpu: 4, memory: 16, disk: null, gpu_count: 1, gpu_name: "A10G", gpu_memory: 24 };

test("the plan table names the run, configuration, backend, resources, spot, price, max duration and the next offers", () => {
  const spec = { name: "fast-moth-1", type: "dev-environment", configuration_path: "/p/.dstack.yml", max_duration: 7200, resources: DEFAULT_RESOURCES } as unknown as DevEnvironmentRunSpec;
  const text = renderPlanTable(spec, local, [aws], "/p");
  for (const s of ["Run", "fast-moth-1", "Configuration", ".dstack.yml", "Backend", "local (local)", "Resources", "2xCPU, 23.5GB, 71.6GB (disk)", "Spot", "no", "Price", "$0.0/h", "Max duration", "2h"]) expect(text).toContain(s);
  expect(text).toContain("Next cheapest offers");
  expect(text).toMatch(/2\s+aws\s+us-east-1\s+g5\.xlarge\s+4xCPU, 16GB, 1xA10G \(24GB\)\s+spot\s+\$1\.006\/h/);
});

test("connection details: ssh and the IDE link (vscode:// or cursor://)", () => {
  expect(ideUrl("r1", "vscode")).toBe("vscode://vscode-remote/ssh-remote+r1/workflow");
  expect(ideUrl("r1", "cursor")).toBe("cursor://vscode-remote/ssh-remote+r1/workflow");
  const t = connectionText("r1", "cursor", "dev-environment", ideUrl("r1", "cursor"), true, "/h/ssh/config");
  expect(t).toContain("ssh r1");
  expect(t).toContain("To open in Cursor: cursor://vscode-remote/ssh-remote+r1/workflow");
  expect(connectionText("r1", null, "task", null, false, "/h/ssh/config")).toContain("ssh -F /h/ssh/config r1");
  expect(connectionText("r1", null, "task", null, true, "/c", "dstack-r1")).toContain("dstack logs -f r1");
});

test("no IDE link for a dev environment without ide, none for a task", () => {
  // ideUrl gives a VS Code link for ide: null; connectionText leaves it out
  const t = connectionText("r1", null, "dev-environment", ideUrl("r1", null), true, "/h/ssh/config");
  expect(t).toContain("To connect: ssh r1");
  expect(t).not.toContain("To open in");
  expect(t).not.toContain("vscode://");
  expect(connectionText("r1", "vscode", "dev-environment", ideUrl("r1", "vscode"), true, "/c")).toContain("To open in VS Code: vscode://vscode-remote/ssh-remote+r1/workflow");
  expect(connectionText("r1", "vscode", "task", ideUrl("r1", "vscode"), true, "/c")).not.toContain("To open in");
});

test("a finished task gets no \"To connect\" line, a running one does", () => {
  const done = connectionText("r1", null, "task", null, true, "/c", "dstack-r1", true);
  expect(done).not.toContain("To connect");
  expect(done.split("\n")).toEqual(["The task's output: dstack logs -f r1", "To remove: dstack down r1"]);
  expect(connectionText("r1", null, "task", null, true, "/c", "dstack-r1", false)).toContain("To connect: ssh r1");
  // a dev environment is connected to whatever `finished` says
  expect(connectionText("r1", "vscode", "dev-environment", ideUrl("r1", "vscode"), true, "/c", null, true)).toContain("To connect: ssh r1");
});

test("ps table", () => {
  const now = Date.parse("2026-01-01T01:00:00Z");
  const view = {
    name: "r1", backend: "local", status: "running" as const, termination_reason: null, reason: null, exit_code: null, price: 0, resources: "2xCPU, 8GB", owner: "me",
    created_at: "2026-01-01T00:00:00Z", submitted_at: "2026-01-01T00:00:00Z", ended_at: null, expires_at: null, duration_s: 3600, attempts: 1, ssh_host: "127.0.0.1", ssh_port: 2222, ssh_user: "root", ide_url: null, projected_cost: 0, instance: "running" as const,
  };
  const text = renderRuns([view], now);
  expect(text.split("\n")[0]).toMatch(/^NAME\s+BACKEND\s+RESOURCES\s+PRICE\s+STATUS\s+AGE/);
  expect(text.split("\n")[1]).toMatch(/^r1\s+local\s+2xCPU, 8GB\s+\$0\.0\/h\s+running\s+1h/);
  expect(renderRuns([])).toContain("No active runs");
  const ended = { ...view, name: "r2", status: "failed" as const, termination_reason: "exited" as const, reason: "exited with code 3", exit_code: 3, ended_at: "2026-01-01T00:00:07Z", duration_s: 7, instance: "missing" as const };
  const all = renderRuns([view, ended], now, true).split("\n");
  expect(all[0]).toMatch(/^NAME\s+BACKEND\s+RESOURCES\s+PRICE\s+STATUS\s+AGE\s+DURATION\s+REASON$/);
  expect(all[2]).toMatch(/^r2\s+local\s+2xCPU, 8GB\s+\$0\.0\/h\s+failed\s+1h\s+7s\s+exited with code 3$/);
  expect(renderRuns([{ ...view, instance: "stopped" }], now)).toContain("running (instance stopped)");
});
