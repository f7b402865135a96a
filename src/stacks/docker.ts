/**
 * The Docker Engine client dstack uses outside the Pulumi engine (setup, doctor, build,
 * preflight, `down --volumes`, the ssh waiter's container checks). Honours DOCKER_HOST
 * (unix://, tcp://, with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH as docker-modem reads them) and
 * otherwise uses /var/run/docker.sock. A missing engine is one clear error (E4101).
 *
 * dockerode (about 0.8 s to load here) is required inside `dockerClient()` only: the endpoint
 * and the error helpers serve `doctor` and messages without it, and the module stays cheap to
 * import for any caller.
 */
import type Docker from "dockerode";
import { DstackError, ExitCode } from "../diagnostics";

/** Where the engine is expected, for messages. */
export function dockerEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST || "unix:///var/run/docker.sock";
}

export function noEngineError(env: NodeJS.ProcessEnv = process.env, cause?: string): DstackError {
  if (cause === "EACCES") {
    return new DstackError(
      {
        code: "E4102",
        severity: "error",
        message: `permission denied on the Docker engine at ${dockerEndpoint(env)}`,
        hint: "add your user to the docker group (sudo usermod -aG docker $USER, then log in again), or run as root",
      },
      ExitCode.Prerequisite,
    );
  }
  return new DstackError(
    {
      code: "E4101",
      severity: "error",
      message: `no Docker engine at ${dockerEndpoint(env)}${cause ? ` (${cause})` : ""}`,
      hint: "start one (as root: dockerd --bridge=none --iptables=false &, or scripts/setup.sh) or set DOCKER_HOST",
    },
    ExitCode.Prerequisite,
  );
}

let cached: { key: string; client: Promise<Docker> } | undefined;

/**
 * A dockerode client whose engine answered a ping (once per process and DOCKER_HOST).
 * Throws E4101 when no engine answers within `timeoutMs`.
 */
export function dockerClient(env: NodeJS.ProcessEnv = process.env, timeoutMs = 5000): Promise<Docker> {
  const key = dockerEndpoint(env);
  if (cached && cached.key === key) return cached.client;
  const client = (async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: dockerode is heavy, see the header
    const DockerClass = require("dockerode") as typeof Docker; // lazy: see the header
    // dockerode (docker-modem) reads DOCKER_HOST itself; pass it explicitly when env is not process.env.
    const docker = env === process.env ? new DockerClass() : new DockerClass(modemOptions(env));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        docker.ping(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs))),
      ]);
    } catch (e) {
      throw noEngineError(env, (e as NodeJS.ErrnoException).code ?? (e as Error).message);
    } finally {
      if (timer) clearTimeout(timer);
    }
    return docker;
  })();
  cached = { key, client };
  client.catch(() => {
    if (cached?.client === client) cached = undefined;
  });
  return client;
}

function modemOptions(env: NodeJS.ProcessEnv): Docker.DockerOptions {
  const host = env.DOCKER_HOST;
  if (!host) return { socketPath: "/var/run/docker.sock" };
  if (host.startsWith("unix://")) return { socketPath: host.slice("unix://".length) };
  const u = new URL(host.replace(/^tcp:/, env.DOCKER_TLS_VERIFY ? "https:" : "http:"));
  return { host: u.hostname, port: Number(u.port || (u.protocol === "https:" ? 2376 : 2375)), protocol: u.protocol.replace(":", "") as "http" | "https" };
}

/** Whether an image reference exists in the engine; its id when it does. */
export async function imageIdOf(docker: Docker, ref: string): Promise<string | null> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return null;
    throw e;
  }
}

/**
 * Removes named Docker volumes (for `dstack down --volumes`, after the stack is destroyed).
 * Missing volumes are skipped; a volume still in use is an error naming it.
 */
export async function removeVolumes(names: string[], docker?: Docker): Promise<{ removed: string[]; missing: string[] }> {
  const d = docker ?? (await dockerClient());
  const removed: string[] = [];
  const missing: string[] = [];
  for (const name of names) {
    try {
      await d.getVolume(name).remove();
      removed.push(name);
    } catch (e) {
      const code = (e as { statusCode?: number }).statusCode;
      if (code === 404) missing.push(name);
      else if (code === 409)
        throw new DstackError({ code: "E4103", severity: "error", message: `volume ${name} is in use by a container`, hint: `stop the run that mounts it (docker ps --filter volume=${name})` });
      else throw e;
    }
  }
  return { removed, missing };
}

export interface ContainerStatus {
  exists: boolean;
  running: boolean;
  /** Docker state: created, running, exited, … */
  state: string | null;
  exit_code: number | null;
  /** The start script's error line (/etc/dstack/error), when it failed. */
  error: string | null;
  /** Last lines of the container's log (stdout and stderr). */
  logs: string;
}

/**
 * The state of a run's container, for the ssh waiter: stop waiting when the container exited
 * (e.g. an image without sshd and apt-get) and show why.
 */
export async function containerStatus(idOrName: string, docker?: Docker, tail = 30): Promise<ContainerStatus> {
  const d = docker ?? (await dockerClient());
  const c = d.getContainer(idOrName);
  let info: Docker.ContainerInspectInfo;
  try {
    info = await c.inspect();
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return { exists: false, running: false, state: null, exit_code: null, error: null, logs: "" };
    throw e;
  }
  const raw = (await c.logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer;
  const logs = demuxLogs(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)));
  const error = /\[dstack\] error: (.*)/.exec(logs)?.[1] ?? null;
  return {
    exists: true,
    running: info.State.Running,
    state: info.State.Status,
    exit_code: info.State.Running ? null : info.State.ExitCode,
    error,
    logs,
  };
}

/** Docker's multiplexed log stream (8-byte frame headers when the container has no TTY) → text. */
export function demuxLogs(buf: Buffer): string {
  const parts: string[] = [];
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2) && buf[i + 1] === 0) {
    const len = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + len).toString("utf8"));
    i += 8 + len;
  }
  if (i === 0) return buf.toString("utf8");
  return parts.join("");
}

/** A container as the Engine API lists it (the fields dstack reads). */
export interface ListedContainer {
  Id: string;
  Names?: string[];
  State?: string;
  Labels?: Record<string, string>;
}

/**
 * Containers carrying a label (running or not), for `dstack ps`: one `GET /containers/json`
 * straight over the unix socket with node's http, so that listing runs does not load
 * dockerode (about 0.8 s here); other endpoints (tcp://) go through dockerode.
 * Docker unreachable: E4101 / E4102.
 */
export async function listContainersByLabel(label: string, env: NodeJS.ProcessEnv = process.env, timeoutMs = 5000): Promise<ListedContainer[]> {
  const endpoint = dockerEndpoint(env);
  if (!endpoint.startsWith("unix://")) return (await dockerClient(env)).listContainers({ all: true, filters: { label: [label] } });
  const socketPath = endpoint.slice("unix://".length);
  const query = `all=1&filters=${encodeURIComponent(JSON.stringify({ label: [label] }))}`;
  const http = await import("http");
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: `/containers/json?${query}`, method: "GET", timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`docker: GET /containers/json answered ${res.statusCode}: ${body.trim()}`));
        try {
          resolve(JSON.parse(body) as ListedContainer[]);
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error(`no answer in ${timeoutMs} ms`), { code: "ETIMEDOUT" })));
    req.on("error", (e: NodeJS.ErrnoException) => reject(noEngineError(env, e.code ?? e.message)));
    req.end();
  });
}
