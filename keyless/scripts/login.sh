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
json_field() { # JSON text, field name: the field's string value, or nothing
  printf '%s' "$1" | grep -o -E "\"$2\" *: *\"[^\"]*\"" | head -n 1 | sed -E 's/^"[^"]*" *: *"(.*)"$/\1/' || true
}

describe_login() {
  local whoami info name
  whoami="$(pulumi whoami -v --json | tr -d '\n')"
  info="$(printf '%s' "${whoami}" | sed -n -E 's/.*"tokenInformation" *: *\{([^}]*)\}.*/\1/p')"
  logged_in_user="$(json_field "${whoami}" user)"
  token_organization="$(json_field "${info}" organization)"
  token_team="$(json_field "${info}" team)"
  echo "Logged in as ${logged_in_user:-<unknown>}; the token obtained:"
  for name in name organization team; do
    echo "  ${name}: $(json_field "${info}" "${name}" | sed 's/^$/<none>/')"
  done
}

# The token must be the one the policy intends: a policy edited in the UI, or a deny that no longer
# matches, can hand out another token silently. Exit 3 names what differs.
check_expected_token() {
  local expected_team="${KEYLESS_EXPECT_TEAM:-}" problems=()
  if [[ -n "${KEYLESS_EXPECT_ORGANIZATION:-}" && "${token_organization}" != "${KEYLESS_EXPECT_ORGANIZATION}" && -z "${KEYLESS_EXPECT_USER:-}" ]]; then
    problems+=("organization is '${token_organization:-<none>}', expected '${KEYLESS_EXPECT_ORGANIZATION}'")
  fi
  if [[ -z "${KEYLESS_EXPECT_USER:-}" && "${token_team}" != "${expected_team}" ]]; then
    problems+=("team is '${token_team:-<none>}', expected '${expected_team:-<none>}'")
  fi
  if [[ -n "${KEYLESS_EXPECT_USER:-}" && "${logged_in_user}" != "${KEYLESS_EXPECT_USER}" ]]; then
    problems+=("user is '${logged_in_user:-<none>}', expected '${KEYLESS_EXPECT_USER}'")
  fi
  if (( ${#problems[@]} )); then
    for problem in "${problems[@]}"; do echo "error: the token obtained is not the intended one: ${problem}" >&2; done
    exit 3
  fi
  echo "The token obtained is the one the policy intends."
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
check_expected_token
