/**
 * `dstack compile`'s use case after `prepareRun`: the backend's program run under Pulumi's mock
 * engine (no provider plugin, no credentials, no network), giving the resource graph that
 * infra teams review before anything is provisioned.
 *
 * Heavy (@pulumi/pulumi through the mock engine): the CLI loads it inside its action.
 */
import { loadBackend } from "../compiler/backends/index";
import { runUnderMocks, type ResourceGraph } from "../compiler/mock-engine";
import type { PreparedCompile } from "./prepare";

/** The resource graph of a prepared `compile`: its plan, through its backend's program, under mocks. */
export async function compileGraph(prepared: PreparedCompile): Promise<ResourceGraph> {
  const program = await loadBackend(prepared.offer.backend);
  return runUnderMocks(program, prepared.plan, { settings: prepared.settings });
}
