/**
 * Run flags shared by `dstack up`, `offer`, `preview`, `compile` and `config`: the CLI layer of
 * the precedence CLI flag > configuration > profile > default. Values are as typed on the
 * command line (strings); `loadRunSpec` parses and validates them.
 */
export interface RunFlags {
  /** `-n/--name` */
  name?: string;
  /** `--gpu SPEC`: replaces resources.gpu */
  gpu?: string;
  /** `--cpu SPEC`: replaces resources.cpu */
  cpu?: string;
  /** `--memory SIZE`: replaces resources.memory */
  memory?: string;
  /** `--disk SIZE`: replaces resources.disk */
  disk?: string;
  /** `--max-price USD` */
  max_price?: string | number;
  /** `--max-cost USD`: the most the run may cost (price per hour × max_duration) */
  max_cost?: string | number;
  /** `--max-duration DURATION|off` (also `--ttl`) */
  max_duration?: string;
  /** `--spot` / `--on-demand` / `--spot-auto` / `--spot-policy POLICY` (the CLI layer checks they agree) */
  spot_policy?: string;
  /** `--retry` (true) / `--no-retry` (false) */
  retry?: boolean;
  /** `--retry-duration DURATION` (implies --retry) */
  retry_duration?: string;
  /** `-b/--backend` (repeatable) */
  backends?: string[];
  /** `-r/--region` (repeatable) */
  regions?: string[];
  /** `--instance-type` (repeatable) */
  instance_types?: string[];
  /** `-e/--env KEY[=VALUE]` (repeatable) */
  env?: string[];
  /** `--build`: build the prebuilt image when it is missing (else reuse it) */
  build?: boolean;
  /** `--force-build`: build the prebuilt image again even when it exists */
  force_build?: boolean;
}
