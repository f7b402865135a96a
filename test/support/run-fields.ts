/**
 * The fields every RunSpec has whatever its type, at neutral values (nothing set, dstack's
 * default resources): the one base of the tests' RunSpec builders (test/compiler/fixtures.ts,
 * test/offers/runspec-fixture.ts), which override only what their tests are about.
 */
import { DEFAULT_RESOURCES, type TaskRunSpec } from "../../src/config/runspec";

export type CommonRunFields = Omit<TaskRunSpec, "type" | "commands" | "nodes">;

export function commonRunFields(): CommonRunFields {
  return {
    configuration_path: "/repo/.dstack.yml",
    repo_dir: "/repo",
    repo_id: "0000",
    name: "test-run",
    name_generated: false,
    python_defaulted: false,
    image: null,
    python: null,
    nvcc: false,
    registry_auth: null,
    working_dir: "/workflow",
    shell: null,
    user: null,
    privileged: false,
    entrypoint: null,
    docker: null,
    env: {},
    secret_env: [],
    ports: [],
    volumes: [],
    resources: DEFAULT_RESOURCES,
    build: [],
    setup: [],
    init: [],
    spot_policy: "auto",
    retry: { enabled: false, on_events: [], duration: null },
    max_duration: null,
    max_price: null,
    max_cost: null,
    backends: null,
    regions: null,
    availability_zones: null,
    instance_types: null,
    idle_duration: null,
    stop_duration: null,
    creation_policy: null,
    fleets: null,
    tags: {},
    reservation: null,
    priority: null,
    utilization_policy: null,
    schedule: null,
    build_missing: false,
    force_build: false,
    profile: { name: null, path: null, sources: {} },
    unsupported: [],
  };
}
