/**
 * The Automation API layer, one file per concern (as Pulumi's own sdk/nodejs/automation is split):
 * - state.ts       backend URL, secrets passphrase, workspace folder, the engine's environment;
 * - checkpoint.ts  the file backend's checkpoints read directly (outputs, run names), secret masking;
 * - cli-run.ts     the Pulumi CLI run directly (`stack init`, `destroy --remove`, plain-output steps);
 * - stack.ts       stacks through the Automation API: open, list, read outputs, up, destroy;
 * - tags.ts        stack tags, `stack rm`, one secret output (the CLI or the file backend directly);
 * - errors.ts      engine failures as DstackErrors (E4501–E4503);
 * - volume-stacks.ts  volume stacks' names (`volume.<name>`), apart from runs';
 * - toolchain.ts   finding (or building) the CLI and the nodejs dynamic-provider plugin.
 *
 * This module is the layer's front door for src/runs and src/cli; it only re-exports. Loading
 * it does not load the Automation API (stack.ts imports it when a stack is opened).
 */
export { stateBackendUrl, secretsPassphrase, workspaceDir, diyStacksDir, engineEnv } from "./state";
export { outputsOfCheckpoint, readOutputsFromFile, readCheckpointFile, listStacksFromFiles, readCheckpoint, resourcesOfCheckpoint, type StateResource } from "./checkpoint";
export { prefetchEngine, cliStepLine, destroyWithCli, breakEngineLocks, cancelStackLocks } from "./cli-run";
export { engineError, runNotFound } from "./errors";
export { volumeStackName, isVolumeStack, volumeNameOfStack } from "./volume-stacks";
export { readStackTags, readTagsFromFile, setStackTags, removeStack, readSecretOutput } from "./tags";
export {
  openStack,
  openWorkspace,
  listStacks,
  listRunNames,
  listStackNames,
  listVolumeStackNames,
  stackExists,
  plainOutputs,
  readOutputs,
  destroyAndRemove,
  upStack,
  type OpenStackOptions,
  type UpStackResult,
  type Stack,
  type UpResult,
  type PreviewResult,
  type DestroyResult,
  type PulumiFn,
  type StackSummary,
} from "./stack";
