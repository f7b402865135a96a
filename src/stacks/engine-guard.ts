/**
 * The engine guard: every Pulumi CLI process dstack starts runs below a small shell script,
 * `$DSTACK_HOME/pulumi/bin/pulumi-guard`, so that a dstack killed with SIGKILL (a closed lid,
 * a cancelled CI job) leaves no engine or plugin process behind.
 *
 * The script starts `pulumi` in a session of its own (`setsid`) and watches its own parent
 * (dstack) and the process DSTACK_ENGINE_PARENT names (dstack's pid) twice a second. When dstack is gone it sends SIGINT to
 * pulumi — the engine then cancels gracefully: finishes the operations in flight, saves the
 * state and releases its lock — and after a grace period SIGKILLs every process left in that
 * session. A session rather than a process group: the engine starts each plugin in a process
 * group of its own (sdk/go/common/util/cmdutil RegisterProcessGroup: Setpgid), so the plugins
 * (`pulumi-resource-pulumi-nodejs`, language hosts) are in pulumi's session but not its group.
 *
 * While dstack lives, SIGINT and SIGTERM sent to the guard (a Ctrl-C from the terminal, or the
 * Automation API's cancellation) are passed on to pulumi, and the guard exits with pulumi's
 * status. Without `setsid` (not Linux) the guard still runs pulumi and forwards the signals.
 */
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomicIfDifferent } from "../paths";

export const ENGINE_GUARD = "pulumi-guard";

/** Seconds between SIGINT and SIGKILL once dstack is gone. */
export const GUARD_GRACE_SECONDS = 4;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The guard script for a pulumi binary (pure). */
export function engineGuardScript(pulumiBinary: string, graceSeconds = GUARD_GRACE_SECONDS): string {
  return `#!/bin/sh
# Written by dstack (src/stacks/engine-guard.ts): runs the Pulumi CLI in a session of its own and
# ends that session when dstack disappears (SIGINT to pulumi, SIGKILL to the rest after ${graceSeconds} s).
pulumi=${shellQuote(pulumiBinary)}
# dstack is alive while the guard's parent is the one it started with (a parent that dies
# makes the kernel reparent the guard at once, even before the parent is reaped) and the
# process DSTACK_ENGINE_PARENT names (dstack's pid, for a guard started through another process) exists.
parent=$PPID
ppid_of_guard() { read -r s < /proc/$$/stat 2>/dev/null || return 1; s=\${s##*) }; set -- $s; echo "$2"; }
parent_alive() {
  if [ -r /proc/$$/stat ]; then [ "$(ppid_of_guard)" = "$parent" ] || return 1; else kill -0 "$parent" 2>/dev/null || return 1; fi
  [ -z "$DSTACK_ENGINE_PARENT" ] || kill -0 "$DSTACK_ENGINE_PARENT" 2>/dev/null
}
kill_session() {
  for f in /proc/[0-9]*/stat; do
    read -r s < "$f" 2>/dev/null || continue
    p=\${s%% *}; s=\${s##*) }; set -- $s
    [ "$4" = "$child" ] && kill -KILL "$p" 2>/dev/null
  done
  kill -KILL "$child" 2>/dev/null
}
if command -v setsid >/dev/null 2>&1; then setsid "$pulumi" "$@" & else "$pulumi" "$@" & fi
child=$!
trap 'kill -INT "$child" 2>/dev/null' INT
trap 'kill -TERM "$child" 2>/dev/null' TERM
(
  trap - INT TERM
  while parent_alive; do sleep 0.5; done
  kill -INT "$child" 2>/dev/null
  i=0
  while [ $i -lt ${graceSeconds * 2} ] && kill -0 "$child" 2>/dev/null; do sleep 0.5; i=$((i + 1)); done
  kill_session
) </dev/null >/dev/null 2>&1 &
watchdog=$!
while :; do
  wait "$child"
  status=$?
  kill -0 "$child" 2>/dev/null || break
done
if parent_alive; then kill "$watchdog" 2>/dev/null; else wait "$watchdog"; fi
exit "$status"
`;
}

/** Writes the guard for this pulumi binary into dir (atomically, when missing or different); returns its path. */
export function installEngineGuard(dir: string, pulumiBinary: string): string {
  const target = path.join(dir, ENGINE_GUARD);
  const content = engineGuardScript(pulumiBinary);
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomicIfDifferent(target, content, 0o755);
  return target;
}
