#!/bin/bash
# Exchange this pod's projected service-account token for a short-lived Pulumi Cloud token,
# then show who we are. The CLI reads the token from its file: the token never reaches this
# script's output, the environment or any command line.
set -euo pipefail

: "${PULUMI_OIDC_TOKEN_FILE:?names the projected token file}"
: "${PULUMI_OIDC_ORG:?names the Pulumi organization}"
: "${PULUMI_BACKEND_URL:?names the Pulumi Cloud API}"

# The CLI refuses a token exchange while an access token is set.
unset PULUMI_ACCESS_TOKEN

if [[ ! -s "${PULUMI_OIDC_TOKEN_FILE}" ]]; then
  echo "error: no service-account token at ${PULUMI_OIDC_TOKEN_FILE}" >&2
  exit 1
fi

# Print the claims Pulumi Cloud matches the policy against, so that a refused exchange can
# be diagnosed from the Job's logs. Only the payload is decoded; the signature is never shown.
describe_token() {
  local payload claims name value
  payload="$(cut -d. -f2 "${PULUMI_OIDC_TOKEN_FILE}" | tr -- '-_' '+/')"
  while (( ${#payload} % 4 )); do payload+="="; done
  claims="$(printf '%s' "${payload}" | base64 -d 2>/dev/null)" || claims=""
  echo "Service-account token claims:"
  for name in iss sub aud exp; do
    value="$(printf '%s' "${claims}" | grep -o -E "\"${name}\" *: *(\"[^\"]*\"|\[[^]]*\]|[0-9]+)" | head -n 1 | sed -E 's/^"[^"]*" *: *//')" || value=""
    echo "  ${name}: ${value:-<absent>}"
  done
}
describe_token

login_args=(login "${PULUMI_BACKEND_URL}" --oidc-token "file://${PULUMI_OIDC_TOKEN_FILE}" --oidc-org "${PULUMI_OIDC_ORG}")
if [[ -n "${PULUMI_OIDC_TEAM:-}" ]]; then login_args+=(--oidc-team "${PULUMI_OIDC_TEAM}"); fi
if [[ -n "${PULUMI_OIDC_USER:-}" ]]; then login_args+=(--oidc-user "${PULUMI_OIDC_USER}"); fi
if [[ -n "${PULUMI_OIDC_EXPIRATION:-}" ]]; then login_args+=(--oidc-expiration "${PULUMI_OIDC_EXPIRATION}"); fi

# Show which Pulumi token the exchange obtained (its name, organization and team; never the token
# itself), so that a token other than the one the policy intends shows in the Job's log.
describe_login() {
  local whoami info name value
  whoami="$(pulumi whoami -v --json | tr -d '\n')"
  info="$(printf '%s' "${whoami}" | sed -n -E 's/.*"tokenInformation" *: *\{([^}]*)\}.*/\1/p')"
  value="$(printf '%s' "${whoami}" | grep -o -E '"user" *: *"[^"]*"' | head -n 1 | sed -E 's/^"[^"]*" *: *"(.*)"$/\1/')" || value=""
  echo "Logged in as ${value:-<unknown>}; the token obtained:"
  for name in name organization team; do
    value="$(printf '%s' "${info}" | grep -o -E "\"${name}\" *: *\"[^\"]*\"" | head -n 1 | sed -E 's/^"[^"]*" *: *"(.*)"$/\1/')" || value=""
    echo "  ${name}: ${value:-<none>}"
  done
}

# Pulumi Cloud's refusal says little; the doctor says which claim or policy is at fault.
explain_refusal() {
  echo "The exchange was refused. To see why, run where your kubeconfig reaches this cluster:" >&2
  echo "  ${KEYLESS_DOCTOR_COMMAND:-keyless doctor --stack <stack> --from-cluster --workload <namespace>/<service-account>}" >&2
  echo "or save the claims printed above to a file and pass --claims-file FILE instead of --from-cluster." >&2
}

echo "Exchanging the token at ${PULUMI_BACKEND_URL} for organization ${PULUMI_OIDC_ORG}"
pulumi "${login_args[@]}" || { status=$?; explain_refusal; exit "${status}"; }
describe_login
