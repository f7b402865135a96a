/**
 * A short exclusive lock around a read-modify-write of a file shared by every run (dstack's
 * ssh config and known_hosts): each write is atomic already (written aside, renamed), but two
 * runs updating their own entries at once would each write back the other's old text and lose
 * an entry. `<file>.lock` is created with O_EXCL; a lock older than 10 s (its holder crashed
 * between the read and the rename) is taken over.
 */
import * as fs from "fs";

const STALE_MS = 10_000;
const pause = new Int32Array(new SharedArrayBuffer(4));

export function withFileLock<T>(file: string, fn: () => T): T {
  const lock = `${file}.lock`;
  const deadline = Date.now() + 2 * STALE_MS;
  for (;;) {
    try {
      fs.closeSync(fs.openSync(lock, "wx", 0o600));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return fn(); // no folder: no file to share yet
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > STALE_MS || Date.now() > deadline) fs.rmSync(lock, { force: true });
      } catch {
        // released meanwhile
      }
      Atomics.wait(pause, 0, 0, 20); // a synchronous 20 ms sleep: the callers are synchronous
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}
