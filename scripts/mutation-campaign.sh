#!/usr/bin/env bash
# The raw-socket campaign of mutated requests (jwsgi.http.MutationCampaignTest) for longer than
# ./test runs it (8 s). A failure prints the seed and the input; pass the seed to replay.
#   scripts/mutation-campaign.sh [SECONDS [SEED]]
set -euo pipefail
home="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$home/scripts/env.sh"
find_jdk
cd "$home"
args=(-Djwsgi.campaign.seconds="${1:-300}")
[ -n "${2:-}" ] && args+=(-Djwsgi.campaign.seed="$2")
status=0
out=$(maven test -Dtest=MutationCampaignTest "${args[@]}" 2>&1) || status=$?
echo "$out" | grep -E "mutation campaign:|case [0-9]+ \(seed|^input:|Tests run:" | head -20
exit "$status"
