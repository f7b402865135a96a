/**
 * Upper bounds of every duration, size, count and price a configuration, a profile or a run
 * flag may hold (docs/configuration.md, "Bounds"). Checked where the value is read, so a value
 * past its bound is a positioned E1026 in the configuration stage, never a crash downstream:
 * `max_duration: 99999999999999999999999d` once passed `dstack config` and then made
 * `up`/`preview`/`compile` fail with "Invalid time value" (a deadline past year 275760).
 *
 * The bounds are far above anything a cloud offers (the largest catalog instance has 16 GPUs,
 * a few hundred vCPUs and costs under $200/h) and low enough that every value stays a safe
 * integer in bytes, milliseconds or nano-CPUs and every deadline a valid date.
 */

/** The diagnostic code of a value above its upper bound. */
export const BOUND_CODE = "E1026";

/** Durations (max_duration, idle/stop/inactivity_duration, retry duration, time_window): 365 days, in seconds. */
export const MAX_DURATION_SECONDS = 365 * 86400;
/** Sizes (memory, shm_size, disk, GPU memory, volume size): 4 PB = 4096TB, in GB (2^52 bytes). */
export const MAX_SIZE_GB = 4096 * 1024;
/** CPU count (`resources.cpu`). */
export const MAX_CPU_COUNT = 4096;
/** GPU count (`resources.gpu`) per node. */
export const MAX_GPU_COUNT = 1024;
/** Nodes of a multi-node task (`nodes`, a group's `nodes`). */
export const MAX_NODES = 1024;
/** Price (`max_price`, `--max-price`): dollars per hour. */
export const MAX_PRICE = 10_000;
/** A run's cost cap (`max_cost`, `--max-cost`): dollars (MAX_PRICE over 365 days). */
export const MAX_COST = 100_000_000;
/** Each part of a compute capability (`major.minor`). */
export const MAX_COMPUTE_CAPABILITY_PART = 99;

/** A bound as users write it: `365d`, `4096TB`. */
export const MAX_DURATION_TEXT = "365d";
export const MAX_SIZE_TEXT = "4096TB";
