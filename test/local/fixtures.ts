/**
 * Test fixtures for the local backend: a real Plan (built by the pure `plan()` from a small
 * RunSpec), a temporary DSTACK_HOME, and a Pulumi stack (file backend, passphrase secrets)
 * running the local program with the real engine — from a temporary working directory, to
 * check that dstack works outside the package folder.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { DEFAULT_RESOURCES, type RunSpec } from "../../src/config/runspec";
import type { Offer } from "../../src/offers/offer";
import { plan, type Plan } from "../../src/compiler/plan";

export function localOffer(): Offer {
  return {
    backend: "local", region: "local", zone: null, instance_type: "local", price: 0, spot: false,
    cpu: os.cpus().length, cpu_arch: "x86", memory: Math.floor(os.totalmem() / 2 ** 30), disk: null,
    gpu_count: 0, gpu_name: null, gpu_memory: null, gpu_vendor: null, flags: [], provider_data: {},
  };
}

export function runSpec(over: Partial<RunSpec> & { name: string; repo_dir: string }): RunSpec {
  const base = {
    type: "dev-environment" as const, ide: null, version: null, inactivity_duration: null,
    configuration_path: path.join(over.repo_dir, ".dstack.yml"), repo_id: "test-repo", name_generated: false,
    image: null, python: null, nvcc: false, registry_auth: null, working_dir: "/workflow", shell: null, user: null,
    privileged: false, entrypoint: null, docker: null, env: {}, secret_env: [], ports: [], volumes: [],
    resources: DEFAULT_RESOURCES, build: [], setup: [], init: [], spot_policy: "auto" as const,
    retry: { enabled: false, on_events: [], duration: null }, max_duration: null, max_price: null, backends: null,
    regions: null, availability_zones: null, instance_types: null, idle_duration: null, stop_duration: null,
    creation_policy: null, fleets: null, tags: {}, reservation: null, priority: null, utilization_policy: null,
    schedule: null, build_missing: false, force_build: false, profile: { name: null, path: null, sources: {} }, unsupported: [],
  };
  return { ...base, ...over } as RunSpec;
}

export function makePlan(spec: RunSpec, sshPublicKey: string, baseImage: string): Plan {
  return plan(spec, localOffer(), { sshPublicKey, owner: "tester", now: Date.parse("2026-12-01T09:00:00Z"), baseImage });
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestStack {
  stack: Stack;
  workspace: LocalWorkspace;
  setPlan(p: Plan, settings?: Record<string, unknown>): void;
  /** Runs another program from now on (test/local/upgrade.test.ts: the previous version's). */
  setProgram(program: LocalProgram): void;
}

export type LocalProgram = (p: Plan, opts: { settings?: Record<string, unknown> }) => Promise<unknown>;

/** A stack of the local program in a fresh file backend under `home`, run from `workDir`. */
export async function localStack(home: string, name: string, initial: Plan): Promise<TestStack> {
  const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
  const { ensurePulumi } = await import("../../src/stacks/toolchain");
  const { engineEnv } = await import("../../src/stacks/state");
  const { localProgram } = await import("../../src/compiler/backends/local");
  const tc = await ensurePulumi({ noInstall: true });
  let current = initial;
  let settings: Record<string, unknown> = {};
  let body: LocalProgram = localProgram;
  const program = async () => (await body(current, { settings })) as Record<string, unknown>;
  const state = path.join(home, "state");
  const workDir = path.join(home, "ws");
  fs.mkdirSync(state, { recursive: true });
  fs.mkdirSync(workDir, { recursive: true });
  const pulumiHome = path.join(home, "pulumi-home");
  (await import("../../src/stacks/dstack-plugin")).installDstackPlugin(pulumiHome); // the local resources' provider plugin
  const workspace = await LocalWorkspace.create({
    workDir,
    pulumiHome,
    pulumiCommand: tc.command,
    program,
    envVars: { ...engineEnv(tc, process.env, { passphrase: "test-passphrase" }), PULUMI_HOME: pulumiHome },
    secretsProvider: "passphrase",
    projectSettings: { name: "dstack", runtime: "nodejs", backend: { url: `file://${state}` } },
  });
  const stack = await (await import("@pulumi/pulumi/automation")).Stack.createOrSelect(name, workspace);
  return {
    stack,
    workspace,
    setPlan(p: Plan, s: Record<string, unknown> = {}) {
      current = p;
      settings = s;
    },
    setProgram(p: LocalProgram) {
      body = p;
    },
  };
}
