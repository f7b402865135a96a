/**
 * The one table of diagnostic codes: every stable `E` code a `Diagnostic` may carry, with what
 * it means, the usual fix and the exit code of the error that carries it. docs/diagnostics.md
 * is generated from it (`npm run docs:diagnostics`), and test/diagnostics.test.ts checks
 * that every code used in src/ is here and that the docs are up to date.
 *
 * Codes are stable: scripts branch on them. Add a code here in the same change that first
 * uses it; never reuse a retired one.
 */
import { ExitCode } from "./diagnostics";

export interface DiagnosticCodeInfo {
  /** The exit code of the error that carries it, or "warning" when it never stops a command. */
  exit: ExitCode | "warning";
  /** What went wrong, as a user reads it (Markdown). */
  meaning: string;
  /** What to do about it (Markdown). */
  fix: string;
}

export interface DiagnosticCodeSection {
  /** The codes of the section: those whose name starts with one of these. */
  prefixes: string[];
  title: string;
  /** Markdown printed under the section's table. */
  note?: string;
}

/** The sections of docs/diagnostics.md, in order; each code belongs to exactly one. */
export const DIAGNOSTIC_SECTIONS: DiagnosticCodeSection[] = [
  { prefixes: ["E0"], title: "E0xxx — any stage: errors without a code of their own" },
  { prefixes: ["E1"], title: "E1xxx — configuration, profiles and run flags" },
  {
    prefixes: ["E2"],
    title: "E2xxx — offers: catalogs, config.yml backends, `dstack offer`",
    note:
      '`dstack offer --json` with no match prints `{"offers": [], "total": 0, "explanation": {"constraint",\n' +
      '"message", "nearest": [offer + "breaks"], "elsewhere"}}` and exits 3, like E2020 without `--json`.',
  },
  { prefixes: ["E3"], title: "E3xxx — compiler: cloud backend programs, `dstack compile`" },
  { prefixes: ["E41", "E42"], title: "E41xx — local backend, E42xx — toolchain (`dstack setup`, `doctor`, `build`)" },
  { prefixes: ["E45"], title: "E45xx — the engine and the state backend (`src/stacks`)" },
  { prefixes: ["E5"], title: "E5xxx — ssh: run keys, ssh config, waiting for sshd" },
  { prefixes: ["E6"], title: "E6xxx — runs and the CLI: backend limits, interrupts, confirmations" },
  { prefixes: ["E70"], title: "E70xx — the kubernetes backend: config.yml entry, cluster, provider plugin, pods" },
];

export const DIAGNOSTIC_CODES = {
  E0000: { exit: ExitCode.Failure, meaning: "An unexpected error that is not a `DstackError`: a bug, or a library failing in a way no stage recognises (`--json` reports it with this code)", fix: "rerun with `DSTACK_DEBUG=1` for the stack trace, and report it" },
  E0001: { exit: ExitCode.Failure, meaning: "A `DstackError` made from a bare message, with no code of its own (also the `--json` code of an error that carries no diagnostics)", fix: "the message says what failed; `DSTACK_DEBUG=1` shows where" },
  E1001: { exit: ExitCode.Usage, meaning: "Invalid YAML: syntax error, duplicate key, tab indentation, unresolved alias", fix: "fix the line shown" },
  E1002: { exit: ExitCode.Usage, meaning: "The file is empty, or its top level is not a mapping", fix: "start with `type: dev-environment` or `type: task`" },
  E1003: { exit: ExitCode.Usage, meaning: "`type` is missing or unknown (with \"did you mean\")", fix: "`type: dev-environment`, `task` or `volume`" },
  E1004: { exit: ExitCode.Usage, meaning: "`type: service`, `fleet` or `gateway`: not supported yet", fix: "use a dev environment or a task" },
  E1010: { exit: ExitCode.Usage, meaning: "Unknown property (with \"did you mean\"; resources keys at the top level hint at indentation)", fix: "fix the spelling or the indentation" },
  E1011: { exit: ExitCode.Usage, meaning: "Wrong type of value; the message says what was expected", fix: "e.g. a list for `commands`, an integer for `nodes`" },
  E1012: { exit: ExitCode.Usage, meaning: "A value outside an enumeration (`ide`, `spot_policy`, `backends`, `retry.on_events`, …)", fix: "one of the listed values" },
  E1013: { exit: ExitCode.Usage, meaning: "A required property is missing (`registry_auth.password`, a mount's `path`, a profile's `name`, a volume's `backend`)", fix: "add it" },
  E1014: { exit: ExitCode.Usage, meaning: "A number out of range (`nodes` ≥ 1, `priority` 0…100, `max_price` > 0, `min_gpu_utilization` 0…100)", fix: "use a value in range" },
  E1015: { exit: ExitCode.Usage, meaning: "A malformed string (a `schedule.cron` that is not five fields)", fix: "fix the format" },
  E1021: { exit: ExitCode.Usage, meaning: "Invalid memory size or range (`memory`, `shm_size`, volume `size`)", fix: "`24GB`, `512MB`, `1TB`, `16GB..64GB`" },
  E1022: { exit: ExitCode.Usage, meaning: "Invalid GPU spec; the message names the conflicting or empty token", fix: "`A100`, `A100:80GB:2`, `24GB..:1..8`, `tpu:v5p-8`" },
  E1023: { exit: ExitCode.Usage, meaning: "Invalid CPU spec", fix: "`4`, `2..`, `x86:8..`, `arm:4`" },
  E1024: { exit: ExitCode.Usage, meaning: "Invalid disk spec", fix: "`100GB`, `100GB..`, `{size: 100GB..}`" },
  E1025: { exit: ExitCode.Usage, meaning: "Invalid duration (negative, fractional, unknown unit), or `utilization_policy.time_window` < 5m", fix: "`90`, `30s`, `15m`, `2h`, `1d`, `1w`, `off`" },
  E1026: { exit: ExitCode.Usage, meaning: "A value above its upper bound, in a configuration, a profile or a run flag: a duration over `365d`, a size over `4096TB`, a GPU count over 1024, a CPU count over 4096, `nodes` over 1024, a price over 10000 $/h, a compute capability part over 99 (docs/configuration.md, \"Bounds\")", fix: "a value within the bound (`off` for no duration limit)" },
  E1030: { exit: ExitCode.Usage, meaning: "Mutually exclusive properties: `image`/`python`, `image`/`docker`, `python`/`docker`, `nvcc`/`docker`, `image`/`nvcc`", fix: "drop one" },
  E1031: { exit: ExitCode.Usage, meaning: "A task without `commands` and without `image`", fix: "add `commands:`" },
  E1032: { exit: ExitCode.Usage, meaning: "Unsupported `python` version", fix: "`\"3.9\"` … `\"3.13\"` (quote it)" },
  E1034: { exit: ExitCode.Usage, meaning: "Invalid run name (config `name` or `-n`)", fix: "2–41 lowercase letters, digits, dashes, starting with a letter" },
  E1035: { exit: ExitCode.Usage, meaning: "`working_dir` is not absolute", fix: "e.g. `/workflow/src`" },
  E1036: { exit: ExitCode.Usage, meaning: "Invalid `shell`", fix: "`sh`, `bash`, or an absolute path" },
  E1037: { exit: ExitCode.Usage, meaning: "Invalid `user`", fix: "`name`, `uid`, `name:group`, `1000:1000`" },
  E1038: { exit: ExitCode.Usage, meaning: "`entrypoint` in a dev environment", fix: "use `init`" },
  E1039: { exit: ExitCode.Usage, meaning: "A Windsurf `version` not in the form `version@commit`", fix: "e.g. `1.106.0@8951cd3a`" },
  E1040: { exit: ExitCode.Usage, meaning: "`env`: a variable set twice", fix: "keep one" },
  E1041: { exit: ExitCode.Usage, meaning: "`Environment variable KEY is not set`: a `KEY` without a value, not given with `-e` and not in the caller's environment", fix: "`-e KEY=VALUE` or `export KEY=…`" },
  E1042: { exit: ExitCode.Usage, meaning: "`env` / `-e`: an invalid variable name or entry", fix: "`KEY=VALUE` or `KEY`" },
  E1043: { exit: ExitCode.Usage, meaning: "Interpolation: `${{ env.X }}` with X not in `env`, or an unknown `${{ … }}`", fix: "add X to `env`" },
  E1050: { exit: ExitCode.Usage, meaning: "`volumes`: an invalid mount (bad short form, name and instance_path together, `optional` on a volume, a relative instance path)", fix: "`name:/path`, `/host:/path`, `{name, path}`, `{instance_path, path, optional}`" },
  E1051: { exit: ExitCode.Usage, meaning: "A mount at or under `/workflow` (the working directory lives there)", fix: "mount elsewhere, e.g. `/volume_data`" },
  E1052: { exit: ExitCode.Usage, meaning: "Invalid volume name", fix: "2–41 lowercase letters, digits, dashes, starting with a letter" },
  E1053: { exit: ExitCode.Usage, meaning: "Two mounts at the same container path", fix: "use different paths" },
  E1054: { exit: ExitCode.Usage, meaning: "A mount's container path is empty or relative", fix: "an absolute path" },
  E1060: { exit: ExitCode.Usage, meaning: "`ports`: an invalid port or mapping", fix: "`8080`, `\"8080:80\"`, `\"*:80\"`, `{local_port, container_port}`" },
  E1061: { exit: ExitCode.Usage, meaning: "`ports`: a container or local port used twice", fix: "list each once" },
  E1070: { exit: ExitCode.Usage, meaning: "No configuration file in DIR", fix: "create `.dstack.yml`, or `-f FILE`" },
  E1071: { exit: ExitCode.Usage, meaning: "Several configuration files in DIR (listed)", fix: "pick one with `-f`" },
  E1072: { exit: ExitCode.Usage, meaning: "The `-f` file (or a profiles file) cannot be found or read", fix: "fix the path" },
  E1073: { exit: ExitCode.Usage, meaning: "DIR does not exist or is not a directory", fix: "pass a directory (`-f` for a file)" },
  E1080: { exit: ExitCode.Usage, meaning: "`No such profile: NAME` (lists the known ones; also when there is no profiles file)", fix: "`--profile` one of the listed, or drop it" },
  E1082: { exit: ExitCode.Usage, meaning: "Two profiles with the same name", fix: "rename one" },
  E1083: { exit: ExitCode.Usage, meaning: "Several profiles with `default: true`", fix: "keep one" },
  E1090: { exit: ExitCode.Usage, meaning: "An invalid run flag (`--gpu`, `--cpu`, `--memory`, `--disk`, `--max-price`, `--max-duration`, `--spot-policy`, `--retry-duration`, `--backend`), or conflicting flags (`--spot` with `--on-demand`, `--no-retry` with `--retry-duration`)", fix: "fix the flag" },
  E1091: { exit: ExitCode.Usage, meaning: "`retry`: empty or repeated `on_events`; a legacy `retry_policy` with a limit but `retry: false`", fix: "list the events once" },
  E1092: { exit: ExitCode.Usage, meaning: "`repos`: more than one repo, `local_path` with `url`, neither, an empty entry, a `~user` path", fix: "one repo: a path or a URL" },
  E1093: { exit: ExitCode.Usage, meaning: "`files`: an invalid `local[:container]` mapping", fix: "`train.py`, `~/.ssh/id_rsa:/root/.ssh/id_rsa`" },
  E1095: { exit: ExitCode.Usage, meaning: "A new volume without `size` (and without `volume_id`)", fix: "`size: 100GB`" },
  E1099: { exit: ExitCode.Usage, meaning: "`loadRunSpec` given a `type: volume` configuration", fix: "use `loadConfiguration` / `dstack config`" },
  E1100: { exit: ExitCode.Usage, meaning: "A property accepted by `dstack config` but not honoured by any backend yet (`nodes` > 1, `groups`, `repos`, `files`, `schedule`, …); produced by `unsupportedDiagnostics(spec)` for `dstack up`", fix: "remove it to run here" },
  E2001: { exit: ExitCode.Usage, meaning: "A bad catalog row, reported by file and line (every bad row of every file, at most 50 listed, after a summary naming the first ten `file:line`s): a non-positive or non-numeric `price`, `cpu` or `memory`; a fractional `cpu`/`gpu_count`; `spot` not `True`/`False`; `cpu_arch` not `x86`/`arm`; GPU fields inconsistent with `gpu_count` (a GPU row without `gpu_name`/`gpu_memory`, a CPU row with them); an unknown `gpu_vendor`; `provider_data` not a JSON object; a wrong number of fields; malformed CSV quoting", fix: "fix or delete the row, or point `DSTACK_CATALOG_DIR` elsewhere" },
  E2002: { exit: ExitCode.Usage, meaning: "A catalog file whose header lacks gpuhunt's v2 columns (`instance_name,location,price,cpu,memory,gpu_count,gpu_name,gpu_memory,spot,disk_size,gpu_vendor,flags,cpu_arch,provider_data`, any order), or an empty file", fix: "write the v2 header" },
  E2003: { exit: ExitCode.Usage, meaning: "The catalog folder (`DSTACK_CATALOG_DIR`, else the shipped `catalog/`) cannot be read or has no `*.csv`", fix: "point `DSTACK_CATALOG_DIR` at a folder of `aws.csv`, `gcp.csv`, … or unset it" },
  E2004: { exit: ExitCode.Usage, meaning: "The catalogs hold more distinct backends (256), regions, zones, GPU names, flag sets or files (65,536 each) than the columnar store indexes", fix: "split the catalogs or drop rows" },
  E2010: { exit: ExitCode.Usage, meaning: "`DSTACK_HOME/config.yml` (`~/.dstack/config.yml`) cannot be read or is not valid YAML", fix: "fix the line shown" },
  E2011: { exit: ExitCode.Usage, meaning: "`config.yml`: `backends` is not a list, an entry has no `type`, or `regions` is not a list of names", fix: "`backends: [{type: aws, regions: [us-east-1]}]`" },
  E2020: { exit: ExitCode.NoOffers, meaning: "No offer satisfies the requirements. The message names the constraint that emptied the list (constraints are applied in the order backends, gpu, cpu_arch, cpu, memory, disk, spot_policy, instance_types, regions, availability_zones, max_price, within the configured backends) and the cheapest offer that breaks only it, e.g. `no offer with 8×H200 costs at most $20/h; cheapest otherwise matching: aws p5en.48xlarge in us-east-1 at $63.296/h`; the hint says how many offers exist on backends that are not configured", fix: "relax that constraint, configure the backend, or `--all-backends`" },
  E2021: { exit: "warning", meaning: "`backends` (or `-b`) names a backend with no catalog", fix: "use one of the listed backends" },
  E2022: { exit: "warning", meaning: "`config.yml` configures a backend with no catalog, so it offers nothing", fix: "add its catalog to `DSTACK_CATALOG_DIR`, or remove it" },
  E2030: { exit: ExitCode.Usage, meaning: "`dstack offer --group-by` with something other than `gpu`, `backend`, `region`, `count`", fix: "e.g. `--group-by gpu,backend`" },
  E2031: { exit: ExitCode.Usage, meaning: "`dstack offer --max-offers` not a whole number ≥ 1", fix: "e.g. `--max-offers 10`" },
  E3001: { exit: ExitCode.Usage, meaning: "`ssh_ingress_cidrs` in the backend's config.yml entry is not a non-empty list of IPv4/IPv6 CIDR blocks", fix: "e.g. `ssh_ingress_cidrs: [\"203.0.113.0/24\"]` (`0.0.0.0/0` allows any address)" },
  E3002: { exit: ExitCode.Usage, meaning: "`network` is neither `default` nor `project`", fix: "`network: default`" },
  E3003: { exit: ExitCode.Usage, meaning: "`volumes` settings: not a map of name → `{size, id}`, a size outside 1–65536 GB, or an empty `id`", fix: "e.g. `volumes: {data: {size: 200}}` or `{data: {id: vol-0123…}}`" },
  E3004: { exit: ExitCode.Usage, meaning: "`upload_timeout` negative, or `container_ssh_port` not a port other than 22", fix: "e.g. `upload_timeout: 600`, `container_ssh_port: 10022`" },
  E3005: { exit: ExitCode.Usage, meaning: "An env name is not a shell variable name, or a value has a line break (a cloud instance's env file carries one line per variable)", fix: "rename the variable; read multi-line values from a file of the repo" },
  E3006: { exit: ExitCode.Usage, meaning: "`os_image` for Azure is not `publisher:offer:sku:version`", fix: "e.g. `os_image: microsoft-dsvm:ubuntu-hpc:2204:latest`" },
  E3007: { exit: ExitCode.Usage, meaning: "A cloud program was given an offer of another backend (a bug in the caller)", fix: "compile with `loadBackend(plan.backend)`" },
  E3010: { exit: ExitCode.Failure, meaning: "The mock engine has no canned answer for a lookup a program made (a bug: every lookup a program uses must be mocked)", fix: "add the lookup to `mockCall` in src/compiler/mock-engine.ts" },
  E3011: { exit: ExitCode.Failure, meaning: "A backend program failed under the mock engine (the message says why)", fix: "`DSTACK_DEBUG=1` shows the stack trace" },
  E3020: { exit: ExitCode.Usage, meaning: "`dstack compile --offer N`: N is not a whole number ≥ 1, or fewer offers match", fix: "`--offer 1` is the cheapest" },
  E3021: { exit: ExitCode.NoOffers, meaning: "`dstack compile`: offers match, but none on a backend with a program (`aws`, `gcp`, `azure`, `local`)", fix: "add `--backend aws` (or gcp, azure, local)" },
  E3030: { exit: ExitCode.Prerequisite, meaning: "`up`/`preview` on aws, gcp or azure: the provider plugin at the version the installed SDK requests is missing from dstack's PULUMI_HOME, and downloading it failed (offline); nothing was written to the state", fix: "with internet access, the `PULUMI_HOME=… pulumi plugin install resource <name> v<version>` of the hint; `dstack compile` works without it" },
  E3031: { exit: ExitCode.Prerequisite, meaning: "`up`/`preview` on aws, gcp or azure: no credentials in the SDK's standard chain (AWS env, profile or SSO; gcloud ADC; az CLI or ARM_* env); the message lists what was looked for. Checked before any engine call", fix: "`aws configure` / `aws sso login`, `gcloud auth application-default login`, `az login` (or the env variables of the hint)" },
  E4101: { exit: ExitCode.Prerequisite, meaning: "No Docker engine answers at DOCKER_HOST / /var/run/docker.sock", fix: "start dockerd (`dockerd --bridge=none --iptables=false`, or scripts/setup.sh as root) or set DOCKER_HOST" },
  E4102: { exit: ExitCode.Prerequisite, meaning: "Permission denied on the Docker socket", fix: "add your user to the docker group, or run as root" },
  E4104: { exit: "warning", meaning: "Warning of `dstack ps`: local runs exist and no Docker engine answers; the runs are listed from the state with status `unknown` (the command exits 5)", fix: "start dockerd or set DOCKER_HOST (the warning carries E4101's message and hint)" },
  E4103: { exit: ExitCode.Failure, meaning: "`down --volumes`: a volume is still mounted by a container", fix: "stop the run that mounts it" },
  E4110: { exit: ExitCode.Prerequisite, meaning: "The local base image (of the run's python) is not built, or building it failed", fix: "`dstack setup` (as root, with debootstrap); `dstack setup --python 3.13` for another python's" },
  E4111: { exit: ExitCode.Usage, meaning: "`build:` commands and no prebuilt image `dstack-prebuilt:<hash>`", fix: "`dstack build`, or `dstack up --build`" },
  E4112: { exit: ExitCode.Usage, meaning: "`python:` names a version no local base image has; the message lists those there are (3.9, 3.11, 3.13)", fix: "one of those (`dstack setup --python V` builds its image), or an `image:` with that Python" },
  E4113: { exit: ExitCode.Usage, meaning: "`nvcc: true` on the local base image (no CUDA toolkit)", fix: "an `image:` with CUDA, or drop `nvcc`" },
  E4114: { exit: ExitCode.Provisioning, meaning: "The prebuilt image's build failed; the build output precedes it", fix: "fix the failing `build:` command" },
  E4115: { exit: ExitCode.Usage, meaning: "`dstack build` of a configuration without `build:`", fix: "add `build:` commands" },
  E4160: { exit: ExitCode.Prerequisite, meaning: "dstack's provider plugin (pulumi-resource-dstack, the local backend's resources) is not built in the package", fix: "`npm run build` in the dstack package (or reinstall dstack)" },
  E4201: { exit: ExitCode.Prerequisite, meaning: "No Pulumi CLI ≥ the pinned version", fix: "`dstack setup`" },
  E4202: { exit: ExitCode.Prerequisite, meaning: "Building Pulumi from the Go module proxy failed", fix: "check Go ≥ 1.24 and the module proxy, then `dstack setup`" },
  E4501: { exit: ExitCode.Provisioning, meaning: "The engine failed an operation (`up`, `preview`, `destroy`, a refresh); the message keeps the engine's own diagnostics, e.g. a dynamic provider's create failing with `the image has no sshd and no apt-get to install it`", fix: "fix the cause it names; `DSTACK_DEBUG=1` prints the engine's full output" },
  E4502: { exit: ExitCode.Busy, meaning: "The run's stack is locked and the backend did not name the holder (e.g. Pulumi Cloud's 409)", fix: "wait, or `--wait`; `dstack unlock NAME` if nothing runs" },
  E4503: { exit: ExitCode.NotFound, meaning: "`no run named NAME`: `dstack down NAME` (or another command given a run name) of a run that does not exist", fix: "`dstack ps` lists the runs" },
  E4504: { exit: ExitCode.Busy, meaning: "`run X is being updated by pid P on host H since T (dstack up)`: dstack's run lock or Pulumi's stack lock is held by a live process on this host or by another host; also two `up` of one new run at once (the loser)", fix: "wait for it, or `--wait`; if the holder is gone for good, `dstack unlock NAME` or `--force-unlock`" },
  E4505: { exit: "warning", meaning: "A stale lock was removed: its holder ran on this host and no longer exists (or its pid now belongs to a newer process); or `--force-unlock` removed a live one", fix: "none (check the run with `dstack ps`)" },
  E4506: { exit: "warning", meaning: "`--wait`: waiting for the holder named (repeated every 30 s)", fix: "none; Ctrl-C stops waiting" },
  E4507: { exit: ExitCode.Provisioning, meaning: "`dstack down`: after the destroy, a container of the run (or, with `--volumes`, a volume of it) still exists in Docker and could not be removed; the run is not reported deleted", fix: "run `dstack down NAME` again; if it stays, `docker rm -f` / `docker volume rm` it by hand" },
  E4520: { exit: ExitCode.Usage, meaning: "`DSTACK_STATE_URL=postgres://…?table=NAME`: the table name is not a plain SQL identifier", fix: "letters, digits and `_` (e.g. `?table=dstack_state`)" },
  E4521: { exit: ExitCode.Prerequisite, meaning: "The PostgreSQL state backend (`DSTACK_STATE_URL=postgres://…`) does not answer or refuses the connection (the driver's message is included; the password is masked)", fix: "check the URL's host, port, user, password and database, and that the server runs (docs/audit.md, \"Team state\")" },
  E5001: { exit: ExitCode.Usage, meaning: "An invalid run name for the run's key files and ssh config entry (letters, digits and dashes, starting with a letter or digit)", fix: "set `name:` in the configuration or pass `-n NAME`" },
  E5002: { exit: ExitCode.Provisioning, meaning: "The run's `host_key` output is not an OpenSSH public key line (a backend bug)", fix: "the backend must output `ssh-ed25519 AAAA…`; `dstack down NAME`, then `up` again" },
  E5003: { exit: ExitCode.Provisioning, meaning: "sshd did not accept the run's key within the timeout (the last error is in the message); the run is kept", fix: "check the container's logs (`docker logs <instance id>`); `dstack down NAME` removes the run" },
  E5004: { exit: ExitCode.Provisioning, meaning: "sshd presented a host key other than the run's pinned key", fix: "another process may own the port: `dstack down NAME` and `dstack up` again" },
  E5005: { exit: ExitCode.Interrupted, meaning: "Interrupted (Ctrl-C) while waiting for sshd; the run is kept", fix: "`dstack up` again to wait for it, or `dstack down NAME`" },
  E5006: { exit: ExitCode.Provisioning, meaning: "The run's outputs lack `ssh_host` / `ssh_port` / `ssh_user` (a backend bug)", fix: "`dstack down NAME`; report it" },
  E5007: { exit: ExitCode.Provisioning, meaning: "The run's container exited (its exit code and last log lines are in the message) or disappeared before sshd answered", fix: "fix the cause shown, then `dstack up` again (or `dstack down NAME`)" },
  E6101: { exit: ExitCode.Usage, meaning: "A backend limit the run exceeds: `nodes` > 1 on the `local` backend (one node)", fix: "`nodes: 1`, or remove it, to run on this machine" },
  E6102: { exit: ExitCode.Interrupted, meaning: "Interrupted (Ctrl-C, SIGTERM) during `dstack up`: the engine finished the operations in flight and saved the state", fix: "`dstack up` again to finish, or `dstack down NAME` to remove what was created" },
  E6103: { exit: ExitCode.Usage, meaning: "A confirmation is needed but there is no terminal (`CI=true`, or stdin is not a TTY); nothing was changed", fix: "pass `-y`" },
  E6104: { exit: ExitCode.Aborted, meaning: "The user answered \"no\" to a confirmation; nothing was changed", fix: "nothing to do; `-y` skips the question" },
  E6105: { exit: ExitCode.NoOffers, meaning: "Offers match, but none on a backend this machine can provision, and this machine's own offer breaks the named requirements (the cheapest match elsewhere is named)", fix: "relax those resources to fit this machine (e.g. `--disk 10GB..`; `dstack offer -b local` shows its offer)" },
  E6201: { exit: ExitCode.Usage, meaning: "`dstack delete NAME`: the run is still active (submitted, provisioning, running, terminating) or still holds resources; only the record of an ended run can be deleted", fix: "`dstack stop NAME` first, or `dstack down --purge NAME` to stop it and delete its record" },
  E6202: { exit: ExitCode.Provisioning, meaning: "`dstack up` of a task: the start script failed before the commands ran (setup, init, or sshd); the run is recorded `failed` (setup failed) and its container removed", fix: "`dstack logs NAME` shows the output; fix the cause, then `dstack up` again (a new attempt)" },
  E6203: { exit: ExitCode.Failure, meaning: "`dstack up` of a task: the run ended before its commands finished, for another reason than their exit (stopped by user, max duration exceeded, interrupted…)", fix: "`dstack ps -a` shows the reason, `dstack logs NAME` the output" },
  E6204: { exit: "warning", meaning: "Ctrl-C while `dstack up` (or `dstack attach`, `dstack logs -f`) followed a run: detached, the run goes on", fix: "`dstack logs -f NAME` follows it again, `dstack stop NAME` stops it" },
  E6205: { exit: ExitCode.Usage, meaning: "`dstack down`: neither a run's name nor `--all` / `--expired`, or more than one of them", fix: "name one run (`dstack ps`), or pass `--all` or `--expired`" },
  E6206: { exit: ExitCode.Provisioning, meaning: "`dstack attach`: the ssh port forwarding failed (ssh's own message is shown), e.g. a local port already taken", fix: "map the port elsewhere in `ports` (e.g. \"8081:80\"), or free the local port" },
  E6207: { exit: ExitCode.NotFound, meaning: "`dstack attach NAME`: the run is not running (it ended, or has no instance yet)", fix: "`dstack up` starts it again; `dstack logs NAME` shows its output" },
  E6208: { exit: ExitCode.Prerequisite, meaning: "`dstack attach NAME`: this machine has no ssh key for the run (it was started from another machine sharing the state backend)", fix: "attach from the machine that ran `dstack up`" },
  E6250: { exit: ExitCode.NoOffers, meaning: "`dstack up`: no offer had capacity (each one tried is named with why: the faults seam, or CPUs / memory / GPUs held by other runs on this machine) and the run does not retry on `no-capacity`; the run is recorded `failed` (no capacity)", fix: "stop the runs that hold what it needs, or add `retry: {on_events: [no-capacity], duration: 1h}` to wait for capacity" },
  E6251: { exit: ExitCode.NoOffers, meaning: "`dstack up`: retrying went on for `retry.duration` without an attempt finding capacity; the run is recorded `failed` (retry limit exceeded) with every attempt (`dstack ps -a --json`)", fix: "a longer `retry.duration`, fewer resources, or free what other runs hold" },
  E6252: { exit: "warning", meaning: "`dstack up` (attached): an attempt of the run ended (no capacity, interrupted, exited non-zero) and the retry policy retries it; the next attempt's time is given", fix: "none; Ctrl-C detaches (the agent goes on retrying), `dstack stop NAME` stops it" },
  E6290: { exit: ExitCode.Usage, meaning: "The faults file named by `DSTACK_FAULTS` (the seam for injecting no-capacity answers and extra local offers; docs/lifecycle.md) cannot be read or is malformed", fix: "fix the file or unset `DSTACK_FAULTS`" },
  E6350: { exit: ExitCode.Usage, meaning: "`up` of a cloud run: the repo's files (after .gitignore / .dstackignore) exceed the code upload limit (DSTACK_CODE_UPLOAD_LIMIT bytes, default 500 MB); nothing was uploaded", fix: "list what the run does not need in .dstackignore, put data on a volume, or raise DSTACK_CODE_UPLOAD_LIMIT" },
  E6351: { exit: ExitCode.Provisioning, meaning: "`up` of a cloud run: streaming the repo to /workflow over SSH failed (the run is kept)", fix: "`dstack up` again repeats the upload; `dstack down NAME` removes the run" },
  E6400: { exit: ExitCode.Usage, meaning: "A volume (`type: volume`, or a run's volume by name) on a backend without volumes, or on a cloud with no region: the configuration names none and config.yml gives the backend no `regions`", fix: "use backend local, aws, gcp or azure; add `region:` to the volume's configuration (or `regions:` to the backend's config.yml entry)" },
  E6401: { exit: ExitCode.Usage, meaning: "`dstack up` of a `type: volume` configuration whose name is a volume that exists with another backend, region, zone or `volume_id`: a volume cannot move; nothing was changed", fix: "use another name, or `dstack volume delete NAME` first (its data goes with it)" },
  E6402: { exit: ExitCode.Usage, meaning: "`dstack volume delete NAME`: a live run (submitted, provisioning, running, terminating) mounts the volume; nothing was deleted", fix: "`dstack down RUN` (the message names the runs), then delete the volume" },
  E6403: { exit: ExitCode.Usage, meaning: "A cloud run's program was given a volume without its id: a run attaches a volume by its volume stack's id and never creates one (`dstack up` creates missing ones first; a program compiled by hand must pass `settings.volumes.NAME.id`)", fix: "`dstack up` the run (or a `type: volume` configuration of that name) so the volume's stack exists" },
  E6404: { exit: ExitCode.NotFound, meaning: "`dstack volume delete NAME`: no volume stack and no local Docker volume made by a run has that name", fix: "`dstack volume ls` lists the volumes" },
  E6405: { exit: ExitCode.Usage, meaning: "A run mounts a volume that lives on a backend, region or zone its `backends`, `regions` or `availability_zones` exclude (or two volumes in different places): a volume attaches only where it is; nothing was created", fix: "add the volume's backend/region/zone to the configuration (the message names them), or mount another volume" },
  E6407: { exit: ExitCode.Provisioning, meaning: "A volume's stack holds no volume after its update (a backend bug)", fix: "`dstack volume delete NAME` removes the stack; report it" },
  E6300: { exit: ExitCode.OverBudget, meaning: "The cost guard: the run's projected cost (price per hour × max_duration) is above `max_cost` (`--max-cost`, a profile's or the configuration's `max_cost`); nothing was created", fix: "shorten the run (`--ttl`), choose a cheaper offer (`--max-price`, fewer resources), or raise `--max-cost`" },
  E6301: { exit: ExitCode.OverBudget, meaning: "`max_cost` is set but the run costs money per hour and has no `max_duration`: its cost has no bound, so it is refused", fix: "give it a lifetime: `--ttl 2h` (or `max_duration`)" },
  E6450: { exit: ExitCode.Prerequisite, meaning: "`up` on azure: the subscription is not registered for a resource provider the run needs (Microsoft.DevTestLab for the auto-shutdown schedule of a `max_duration` up to 24 h; the error names it); the run's partial resources are removed", fix: "`az provider register --namespace Microsoft.DevTestLab` (once per subscription; the namespace of the message), then `dstack up` again" },
  E6451: { exit: ExitCode.Prerequisite, meaning: "`up` on azure with `max_duration` over 24 h: the deployer may not assign roles, which the VM needs to deallocate itself at the deadline (a Virtual Machine Contributor assignment on the VM only)", fix: "run it as an Owner, User Access Administrator or Role Based Access Control Administrator of the subscription (or resource group), or keep `max_duration` at 24 h or less" },
  E6302: { exit: ExitCode.Prerequisite, meaning: "`dstack audit --prune`: the Docker engine does not answer, so orphans cannot be looked for (nothing was removed)", fix: "start the Docker engine (or set DOCKER_HOST), then run it again" },
  // the kubernetes backend (docs/kubernetes-backend.md)
  E7001: { exit: ExitCode.Usage, meaning: "The `kubernetes` entry of config.yml is invalid: no `kubeconfig: {filename: ...}`, or a bad `context`, `namespace`, `ssh_port`, `price`, `image`, `storage_class` or `volume_size`", fix: "the message names the key; docs/kubernetes-backend.md lists them" },
  E7002: { exit: "warning", meaning: "The configured cluster did not list its nodes (API server unreachable, bad credentials, no permission to list nodes): it offers nothing", fix: "check the kubeconfig and that `kubectl --kubeconfig FILE get nodes` answers" },
  E7003: { exit: ExitCode.Prerequisite, meaning: "The kubeconfig file config.yml names does not exist", fix: "point `kubeconfig: {filename: ...}` at your cluster's kubeconfig" },
  E7004: { exit: ExitCode.Prerequisite, meaning: "Pulumi's Kubernetes provider plugin (at the version `@pulumi/kubernetes` requests) is neither installed in the engine's PULUMI_HOME nor built on this machine", fix: "`scripts/build-kubernetes.sh plugin` builds it from the Go module proxy (dstack links it in); with internet access, `pulumi plugin install resource kubernetes vX`" },
  E7010: { exit: ExitCode.Provisioning, meaning: "`up` of a kubernetes run: the pod could not be scheduled (no capacity), could not start (image pull, configuration), was deleted or ended before its sshd answered (the run is kept)", fix: "fix the cause the message shows (`kubectl describe pod`), then `dstack up` again or `dstack down NAME`" },
  E7011: { exit: ExitCode.Provisioning, meaning: "A kubernetes run's stack outputs do not name its pod", fix: "a backend bug: `dstack down` and `dstack up` again" },
} as const satisfies Record<string, DiagnosticCodeInfo>;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;
