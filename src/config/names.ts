/**
 * Stable identities: the repo id (a hash of the working directory) and the generated run
 * name (`fast-moth-1`), derived deterministically from the repo directory and the
 * configuration path, so `dstack up` twice on the same directory reaches the same run.
 */
import { createHash } from "crypto";
import { DstackError, ExitCode } from "../diagnostics";

const ADJECTIVES = [
  "able", "bold", "brave", "bright", "brisk", "calm", "clever", "cool", "crisp", "curly",
  "daring", "eager", "early", "easy", "fair", "fancy", "fast", "fierce", "fine", "fluffy",
  "fresh", "gentle", "giant", "glad", "golden", "good", "grand", "great", "happy", "hardy",
  "honest", "humble", "jolly", "keen", "kind", "lively", "lucky", "mellow", "merry", "mighty",
  "modest", "neat", "nice", "nimble", "noble", "plain", "polite", "proud", "quick", "quiet",
  "rapid", "rare", "ready", "shiny", "silent", "silver", "smart", "smooth", "snappy", "solid",
  "sunny", "swift", "tidy", "witty",
];

const ANIMALS = [
  "ant", "badger", "bat", "bear", "bee", "bison", "boar", "bobcat", "buffalo", "camel",
  "cat", "cheetah", "cobra", "crab", "crane", "crow", "deer", "dingo", "dodo", "dog",
  "dolphin", "donkey", "dove", "duck", "eagle", "eel", "elk", "falcon", "ferret", "finch",
  "fox", "frog", "gecko", "goat", "goose", "hawk", "heron", "horse", "husky", "ibex",
  "impala", "jackal", "jaguar", "koala", "lamb", "lemur", "lion", "lizard", "llama", "lynx",
  "mole", "moose", "moth", "mouse", "newt", "otter", "owl", "panda", "parrot", "puma",
  "rabbit", "raven", "seal", "wolf",
];

function digest(...parts: string[]): Buffer {
  return createHash("sha256").update(parts.join("\0")).digest();
}

/** The repo id: the first 16 hex digits of sha256(repo_dir). Exported to runs as DSTACK_REPO_ID. */
export function repoIdOf(repoDir: string): string {
  return digest(repoDir).toString("hex").slice(0, 16);
}

/**
 * A readable run name `adjective-animal-N` (N in 1..9), a pure function of its inputs:
 * the repo directory and the configuration path.
 */
export function generatedRunName(repoDir: string, configurationPath: string): string {
  const h = digest(repoDir, configurationPath);
  const adjective = ADJECTIVES[h.readUInt16BE(0) % ADJECTIVES.length]!;
  const animal = ANIMALS[h.readUInt16BE(2) % ANIMALS.length]!;
  const n = (h.readUInt16BE(4) % 9) + 1;
  return `${adjective}-${animal}-${n}`;
}

/** dstack's rule for run and volume names. */
export const RESOURCE_NAME_RE = /^[a-z][a-z0-9-]{1,40}$/;

/**
 * A run name given outside a configuration (`dstack down NAME`, and the guard of every file
 * named after a run: its key pair, its ssh config) follows the configuration's rule, so a
 * name `dstack up` can create is exactly a name the rest accepts. Throws E5001.
 */
export function assertRunName(run: string): void {
  if (!RESOURCE_NAME_RE.test(run)) {
    throw new DstackError(
      {
        code: "E5001",
        severity: "error",
        message: `invalid run name ${JSON.stringify(run)}: expected 2-41 lowercase letters, digits and dashes, starting with a letter`,
        hint: "set `name:` in the configuration or pass -n NAME",
      },
      ExitCode.Usage,
    );
  }
}
