#!/bin/bash
# Exchange this pod's projected service-account token for a short-lived Pulumi Cloud token, then
# check that the token obtained is the one the policy intends. Run by the login Job and the canary;
# the request arrives as the environment keyless-lib.sh describes.
set -euo pipefail
# shellcheck source=keyless-lib.sh
source "$(dirname "$0")/keyless-lib.sh"
keyless_require_request

if [[ ! -s "${PULUMI_OIDC_TOKEN_FILE}" ]]; then
  echo "error: no service-account token at ${PULUMI_OIDC_TOKEN_FILE}" >&2
  exit 1
fi
# What Pulumi Cloud matches the policies against, so that a refusal can be diagnosed from the log.
keyless_describe_token

# Pulumi Cloud's refusal says little; the doctor says which claim or policy is at fault.
explain_refusal() {
  echo "The exchange was refused. To see why, run where your kubeconfig reaches this cluster:" >&2
  echo "  ${KEYLESS_DOCTOR_COMMAND:-keyless doctor --stack <stack> --from-cluster --workload <namespace>/<service-account>}" >&2
  echo "or save the claims printed above to a file and pass --claims-file FILE instead of --from-cluster." >&2
}

echo "Exchanging the token at ${PULUMI_BACKEND_URL} for organization ${PULUMI_OIDC_ORG}"
keyless_login_args
pulumi "${KEYLESS_LOGIN_ARGS[@]}" || { status=$?; explain_refusal; exit "${status}"; }
# A policy edited in the UI, or a deny that no longer matches, can hand out another token silently.
keyless_check_token "$(pulumi whoami -v --json)" || exit 3
# The environments the cluster's ESC stores read, opened end to end with the token obtained.
keyless_open_environments || exit $?
