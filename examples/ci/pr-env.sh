#!/usr/bin/env bash
# A throwaway dstack environment per pull request, from any CI system (or a terminal):
#
#   pr-env.sh up   PR_NUMBER            bring up pr-<N> (JSON in $PR_ENV_OUT/pr-<N>.json) and publish it
#   pr-env.sh exec PR_NUMBER CMD…       run a command in it over ssh
#   pr-env.sh down PR_NUMBER            remove it (and its record's resources)
#   pr-env.sh all  PR_NUMBER CMD…       up, exec, down (down also when a step fails)
#
# Settings (environment): DSTACK (the CLI, default `dstack`), DSTACK_HOME, DSTACK_STATE_URL and
# PULUMI_CONFIG_PASSPHRASE (a team's shared state: docs/ci.md), PR_ENV_DIR (the folder with the
# .dstack.yml, default this script's), PR_ENV_PREFIX (run name prefix, default `pr`), PR_ENV_TTL
# (default 2h), PR_ENV_MAX_COST (dollars, optional), PR_ENV_OUT (default $PWD).
# On GitHub Actions the connection details also go to $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY.
# Exit codes are dstack's (docs/exit-codes.md): 8 = the environment is being updated by another
# job, 9 = over budget.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
read -r -a DSTACK_CMD <<<"${DSTACK:-dstack}"
export CI=true
action="${1:?usage: pr-env.sh up|exec|down|all PR_NUMBER [CMD…]}"
pr="${2:?usage: pr-env.sh up|exec|down|all PR_NUMBER [CMD…]}"
shift 2
[[ "$pr" =~ ^[0-9]+$ ]] || { echo "pr-env.sh: PR_NUMBER must be a number, not $pr" >&2; exit 2; }
name="${PR_ENV_PREFIX:-pr}-$pr"
out="${PR_ENV_OUT:-$PWD}"
ssh_config="${DSTACK_HOME:-$HOME/.dstack}/ssh/config"

field() { node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8")); const v = d[process.argv[1]]; process.stdout.write(v == null ? "" : String(v));' "$1"; }

env_up() {
  local json="$out/$name.json" args=(up -y --json --no-ssh-config -n "$name" --ttl "${PR_ENV_TTL:-2h}")
  [ -n "${PR_ENV_MAX_COST:-}" ] && args+=(--max-cost "$PR_ENV_MAX_COST")
  "${DSTACK_CMD[@]}" "${args[@]}" "${PR_ENV_DIR:-$here}" >"$json"
  local host port user link expires price cost
  host="$(field ssh_host <"$json")"; port="$(field ssh_port <"$json")"; user="$(field ssh_user <"$json")"
  link="$(field ide_url <"$json")"; expires="$(field expires_at <"$json")"
  price="$(field price <"$json")"; cost="$(field projected_cost <"$json")"
  echo "$name is up: ssh -p $port $user@$host (expires $expires, \$$price/h, at most \$$cost)"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    { echo "name=$name"; echo "ssh_host=$host"; echo "ssh_port=$port"; echo "ssh_user=$user"
      echo "ide_url=$link"; echo "expires_at=$expires"; echo "projected_cost=$cost"; } >>"$GITHUB_OUTPUT"
  fi
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    { echo "### Environment \`$name\`"; echo
      echo "| | |"; echo "|---|---|"
      echo "| ssh | \`ssh -p $port $user@$host\` |"; echo "| VS Code | $link |"
      echo "| expires | $expires |"; echo "| price | \$$price/h, at most \$$cost |"; } >>"$GITHUB_STEP_SUMMARY"
  fi
}

env_exec() {
  [ $# -gt 0 ] || { echo "pr-env.sh exec: no command" >&2; exit 2; }
  ssh -F "$ssh_config" -o BatchMode=yes -o ConnectTimeout=20 "$name" "$@"
}

env_down() {
  "${DSTACK_CMD[@]}" down -y "$name"
}

case "$action" in
  up) env_up ;;
  exec) env_exec "$@" ;;
  down) env_down ;;
  all)
    trap env_down EXIT
    env_up
    env_exec "$@"
    ;;
  *) echo "pr-env.sh: unknown action $action (up, exec, down, all)" >&2; exit 2 ;;
esac
