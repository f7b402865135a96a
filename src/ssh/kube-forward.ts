/**
 * SSH to a run's pod through the Kubernetes API server's port-forward (no node port, no
 * address of the pod): one WebSocket per connection to
 * `/api/v1/namespaces/<ns>/pods/<pod>/portforward?ports=<sshd port>` (@kubernetes/client-node's
 * PortForward), streaming bytes both ways.
 * - `streamToPod` joins a pair of streams to the pod's port: the ProxyCommand of the run's ssh
 *   config (`dstack kube-proxy`) joins its stdin and stdout, so `ssh <run>` works through it;
 * - `openKubeForward` listens on a loopback port for dstack's own SSH clients (ssh2: waiting for
 *   sshd, the repo's upload), each accepted connection streamed the same way.
 * The host key stays pinned by the clients; this only carries bytes.
 */
import * as net from "net";
import { Writable, type Readable } from "stream";
import { kubeClientConfig } from "../offers/kubernetes";
import type { KubeSettings } from "../offers/kubernetes-settings";

export interface KubeTarget {
  kubeconfig: string;
  context: string | null;
  namespace: string;
  pod: string;
  port: number;
}

/** The run's pod as its stack outputs name it (the kubernetes program's `kube` output), or null. */
export function kubeTargetOf(outputs: Record<string, unknown> | null): KubeTarget | null {
  const k = outputs?.kube as Partial<KubeTarget> | undefined;
  const port = outputs?.ssh_port;
  if (!k || typeof k.kubeconfig !== "string" || typeof k.namespace !== "string" || typeof k.pod !== "string" || typeof port !== "number") return null;
  return { kubeconfig: k.kubeconfig, context: typeof k.context === "string" ? k.context : null, namespace: k.namespace, pod: k.pod, port };
}

function settingsOf(t: KubeTarget): KubeSettings {
  return { kubeconfig: t.kubeconfig, context: t.context, namespace: t.namespace, ssh_port: t.port, price: 0, image: null, storage_class: null, volume_size: 1 };
}

/**
 * Streams `input` to the pod's port and the port's bytes to `output` until either side ends.
 * Resolves once the stream is closed, with the API server's or the kubelet's error, if any.
 */
export async function streamToPod(t: KubeTarget, input: Readable, output: Writable): Promise<string | null> {
  const k8s = await import("@kubernetes/client-node");
  const kc = await kubeClientConfig(settingsOf(t));
  let error = "";
  const errors = new Writable({
    write(chunk: Buffer, _enc, cb) {
      error += chunk.toString();
      cb();
    },
  });
  const ws = (await new k8s.PortForward(kc).portForward(t.namespace, t.pod, [t.port], output, errors, input)) as unknown as { on(event: string, cb: (arg: Error) => void): void; close(): void; terminate?(): void };
  // the local side gone (a socket destroyed emits no `end`): close the WebSocket too, or it keeps the process alive
  const closeWs = () => {
    try {
      ws.close();
      setTimeout(() => ws.terminate?.(), 2000).unref();
    } catch {
      // closed already
    }
  };
  input.on("close", closeWs);
  input.on("error", closeWs);
  return new Promise((resolve) => {
    ws.on("close", () => {
      try {
        output.end();
      } catch {
        // a stream that cannot be ended (a terminal) ends with the process
      }
      resolve(error.trim() || null);
    });
    ws.on("error", (e: Error) => {
      error ||= e.message;
    });
  });
}

export interface KubeForward {
  /** The loopback port dstack's SSH clients connect to. */
  port: number;
  close(): Promise<void>;
}

/** A loopback listener whose connections are streamed to the pod's port (until `close`). */
export async function openKubeForward(t: KubeTarget): Promise<KubeForward> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => undefined);
    streamToPod(t, sock, sock).then(
      () => sock.destroy(),
      () => sock.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
