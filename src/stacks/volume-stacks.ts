/**
 * Volume stacks' names. A volume (`type: volume`, src/runs/volumes.ts) has a stack of its own in
 * the same Pulumi project as the runs, named `volume.<name>`: a run's name (lowercase letters,
 * digits and dashes) never holds a dot, so the two kinds cannot collide, and listing the runs
 * leaves volume stacks out by name alone (no tags read). The stack is also tagged
 * `dstack:kind=volume` (src/runs/volumes.ts) for `pulumi stack ls --tag`.
 */

const PREFIX = "volume.";

/** The stack of volume `name`. */
export function volumeStackName(name: string): string {
  return `${PREFIX}${name}`;
}

/** Whether a stack is a volume's. */
export function isVolumeStack(stack: string): boolean {
  return stack.startsWith(PREFIX);
}

/** The volume's name of a volume stack. */
export function volumeNameOfStack(stack: string): string {
  return stack.slice(PREFIX.length);
}
