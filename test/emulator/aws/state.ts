/**
 * TEST ONLY — part of the emulated AWS (test/emulator/aws): a stand-in for EC2 that the Pulumi
 * engine reaches through a real resource provider plugin. The dstack CLI never ships it.
 *
 * The emulated account's state: one JSON file under the emulator's folder
 * (DSTACK_AWS_EMULATOR_DIR), read and written under a lock, because every engine run starts a
 * new plugin process (and two engines may run at once). Also the faults a test asks for
 * (`faults.json` in the same folder).
 */
import * as fs from "fs";
import * as path from "path";
import { randomBytes } from "crypto";

export interface EmulatedInstance {
  id: string;
  instanceType: string;
  zone: string;
  publicIp: string;
  spot: boolean;
  runName: string | null;
  /** Folder standing in for the VM's / (bind-mounted at the same path into the VM container). */
  root: string;
  container: string;
  /** The run container boot.sh starts on the (shared) Docker engine. */
  runContainer: string | null;
  createdAt: string;
}

export interface EmulatedVolume {
  id: string;
  zone: string;
  size: number;
  /** The Docker volume holding its data. */
  dockerVolume: string;
  tags: Record<string, string>;
  attachedTo: string | null;
}

export interface AccountState {
  instances: Record<string, EmulatedInstance>;
  securityGroups: Record<string, { id: string; name: string; vpcId: string }>;
  keyPairs: Record<string, { keyName: string; publicKey: string; keyPairId: string }>;
  volumes: Record<string, EmulatedVolume>;
  attachments: Record<string, { volumeId: string; instanceId: string; deviceName: string }>;
}

/**
 * Faults, from `faults.json` in the emulator's folder (tests write it; absent = none):
 * - `insufficient_capacity`: instance types whose RunInstances fails with
 *   InsufficientInstanceCapacity (AWS's own text);
 * - `errors`: instance type → AWS error code (e.g. VcpuLimitExceeded, SpotMaxPriceTooLow);
 * - `reclaim_spot_after_seconds`: a spot instance is reclaimed (stopped and terminated by
 *   "AWS") that many seconds after it booted.
 */
export interface Faults {
  insufficient_capacity?: string[];
  errors?: Record<string, string>;
  reclaim_spot_after_seconds?: number;
  /** Spot requests of any type fail with InsufficientInstanceCapacity (on-demand still works). */
  no_spot_capacity?: boolean;
  /** The region has no default VPC. */
  no_default_vpc?: boolean;
}

export function emulatorDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DSTACK_AWS_EMULATOR_DIR;
  if (!dir) throw new Error("DSTACK_AWS_EMULATOR_DIR is not set: the emulated AWS does not know where its account lives");
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export function readFaults(env: NodeJS.ProcessEnv = process.env): Faults {
  const file = path.join(emulatorDir(env), "faults.json");
  if (!fs.existsSync(file)) return {};
  return JSON.parse(fs.readFileSync(file, "utf8")) as Faults;
}

function emptyState(): AccountState {
  return { instances: {}, securityGroups: {}, keyPairs: {}, volumes: {}, attachments: {} };
}

export function readState(env: NodeJS.ProcessEnv = process.env): AccountState {
  const file = path.join(emulatorDir(env), "account.json");
  if (!fs.existsSync(file)) return emptyState();
  return { ...emptyState(), ...(JSON.parse(fs.readFileSync(file, "utf8")) as AccountState) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs `fn` on the account's state under a lock (a directory), and saves what it returns. */
export async function updateState<T>(fn: (s: AccountState) => T | Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const dir = emulatorDir(env);
  const lock = path.join(dir, "account.lock");
  for (let i = 0; ; i++) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (i > 600) fs.rmSync(lock, { recursive: true, force: true });
      await sleep(50);
    }
  }
  try {
    const s = readState(env);
    const out = await fn(s);
    const file = path.join(dir, "account.json");
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(s, null, 2));
    fs.renameSync(`${file}.tmp`, file);
    return out;
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** An AWS-style id: `i-0` + 16 hex digits. */
export function awsId(prefix: string): string {
  return `${prefix}-0${randomBytes(8).toString("hex")}`;
}

/** A request id as AWS prints it in errors. */
export function requestId(): string {
  const h = randomBytes(16).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The next free loopback address 127.0.0.N (N ≥ 10) for an instance's public IP. */
export function allocateIp(s: AccountState, inUse: Set<string> = new Set()): string {
  const used = new Set([...inUse, ...Object.values(s.instances).map((i) => i.publicIp)]);
  // Spread emulators of concurrent test files apart (their accounts share Docker and lo).
  const start = (process.pid * 7) % 240;
  for (let k = 0; k < 240; k++) {
    const ip = `127.0.0.${10 + ((start + k) % 240)}`;
    if (!used.has(ip)) return ip;
  }
  throw new Error("the emulated account ran out of loopback addresses");
}
