# shellcheck shell=bash
# What login.sh (the login Job and the canary) and refresh.sh (the sidecar) share, written once:
# reading the projected token's claims, the login request, and checking the token obtained.
#
# The login request is the environment keyless.core.login_request.LoginRequest renders:
#   PULUMI_OIDC_TOKEN_FILE  the projected service-account token (read by the CLI from its file)
#   PULUMI_OIDC_ORG         the organization; PULUMI_OIDC_TEAM or PULUMI_OIDC_USER for a team or
#                           personal token (neither: an organization token)
#   PULUMI_OIDC_EXPIRATION  the exchanged token's lifetime, a Go duration such as 2h or 90m
#   PULUMI_BACKEND_URL      the Pulumi Cloud API
# The token never reaches this code's output, the environment or a command line.

keyless_require_request() {
  : "${PULUMI_OIDC_TOKEN_FILE:?names the projected token file}"
  : "${PULUMI_OIDC_ORG:?names the Pulumi organization}"
  : "${PULUMI_BACKEND_URL:?names the Pulumi Cloud API}"
  : "${PULUMI_OIDC_EXPIRATION:?is the exchanged token lifetime}"
  # The CLI refuses a token exchange while an access token is set.
  unset PULUMI_ACCESS_TOKEN
}

# The token's payload (claims) as JSON text; the signature is never decoded or shown.
keyless_token_claims() {
  local payload
  payload="$(cut -d. -f2 "${PULUMI_OIDC_TOKEN_FILE}" | tr -- '-_' '+/')"
  while (( ${#payload} % 4 )); do payload+="="; done
  printf '%s' "${payload}" | base64 -d 2>/dev/null | tr -d '\n' || true
}

# JSON text, a field name: the field's first value (a string unquoted, a number, or a list), or nothing.
keyless_json_value() {
  printf '%s' "$1" | grep -o -E "\"$2\" *: *(\"[^\"]*\"|\[[^]]*\]|[0-9.]+)" | head -n 1 \
    | sed -E 's/^"[^"]*" *: *//; s/^"(.*)"$/\1/' || true
}

# The claims Pulumi Cloud matches the issuer's policies against, one per line.
keyless_describe_token() {
  local claims name value
  claims="$(keyless_token_claims)"
  echo "Service-account token claims:"
  for name in iss sub aud exp; do
    value="$(keyless_json_value "${claims}" "${name}")"
    echo "  ${name}: ${value:-<absent>}"
  done
}

# A one-line summary of the token for a log: its subject and expiry.
keyless_token_summary() {
  local claims
  claims="$(keyless_token_claims)"
  printf 'sub=%s exp=%s' "$(keyless_json_value "${claims}" sub)" "$(keyless_json_value "${claims}" exp)"
}

# A Go duration (2h, 90m, 1h30m, 3600s) in seconds; nothing when it is not one.
keyless_duration_seconds() {
  if [[ "$1" =~ ^(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?$ && -n "$1" ]]; then
    echo $(( ${BASH_REMATCH[2]:-0} * 3600 + ${BASH_REMATCH[4]:-0} * 60 + ${BASH_REMATCH[6]:-0} ))
  fi
}

# The `pulumi login` arguments of the request, in KEYLESS_LOGIN_ARGS.
keyless_login_args() {
  KEYLESS_LOGIN_ARGS=(login "${PULUMI_BACKEND_URL}" --oidc-token "file://${PULUMI_OIDC_TOKEN_FILE}" --oidc-org "${PULUMI_OIDC_ORG}")
  if [[ -n "${PULUMI_OIDC_TEAM:-}" ]]; then KEYLESS_LOGIN_ARGS+=(--oidc-team "${PULUMI_OIDC_TEAM}"); fi
  if [[ -n "${PULUMI_OIDC_USER:-}" ]]; then KEYLESS_LOGIN_ARGS+=(--oidc-user "${PULUMI_OIDC_USER}"); fi
  KEYLESS_LOGIN_ARGS+=(--oidc-expiration "${PULUMI_OIDC_EXPIRATION}")
}

# `pulumi whoami -v --json` output: shows which token the exchange obtained (never the token), and
# returns 3 when it is not the one the request asked for. The CLI's contract: tokenInformation
# names an organization (an organization token) or a team (a team token), never both; a personal
# token has no tokenInformation, and `user` is the login.
keyless_check_token() {
  local whoami info user organizations organization team name problems=()
  whoami="$(printf '%s' "$1" | tr -d '\n')"
  info="$(printf '%s' "${whoami}" | sed -n -E 's/.*"tokenInformation" *: *\{([^}]*)\}.*/\1/p')"
  user="$(keyless_json_value "${whoami}" user)"
  organizations="$(keyless_json_value "${whoami}" organizations)"
  organization="$(keyless_json_value "${info}" organization)"
  team="$(keyless_json_value "${info}" team)"
  name="$(keyless_json_value "${info}" name)"
  echo "Logged in as ${user:-<unknown>}; the token obtained:"
  if [[ -n "${organization}" ]]; then echo "  an organization token for ${organization} (${name:-unnamed})"
  elif [[ -n "${team}" ]]; then echo "  a team token for ${team} (${name:-unnamed})"
  elif [[ -z "${info}" ]]; then echo "  a personal token of ${user:-<unknown>}"
  else echo "  a token of an unknown type (${name:-unnamed})"
  fi
  if [[ -n "${PULUMI_OIDC_TEAM:-}" ]]; then
    [[ "${team}" == "${PULUMI_OIDC_TEAM}" ]] || problems+=("expected a team token for '${PULUMI_OIDC_TEAM}'")
    [[ "${organizations}" == *"\"${PULUMI_OIDC_ORG}\""* ]] \
      || problems+=("expected '${PULUMI_OIDC_ORG}' among the organizations, got ${organizations:-none}")
  elif [[ -n "${PULUMI_OIDC_USER:-}" ]]; then
    [[ -z "${info}" && "${user}" == "${PULUMI_OIDC_USER}" ]] \
      || problems+=("expected a personal token of '${PULUMI_OIDC_USER}'")
  else
    [[ "${organization}" == "${PULUMI_OIDC_ORG}" ]] \
      || problems+=("expected an organization token for '${PULUMI_OIDC_ORG}'")
  fi
  if (( ${#problems[@]} )); then
    for problem in "${problems[@]}"; do echo "error: the token obtained is not the intended one: ${problem}" >&2; done
    return 3
  fi
  echo "The token obtained is the one the policy intends."
}

# Opens each ESC environment in KEYLESS_ESC_ENVIRONMENTS (space-separated <org>/<project>/<env>)
# with the token obtained, as an application's store would read it. The values stay in this
# shell's memory and are never printed or written; only the CLI's error text is shown. Returns 4
# when Pulumi Cloud refuses (403: the token's role lacks the environment), 5 when the environment
# does not exist (404), 6 when the answer is not an environment's values (an ESC API change).
keyless_open_environments() {
  local ref values errors status
  for ref in ${KEYLESS_ESC_ENVIRONMENTS:-}; do
    errors="$(mktemp)"
    status=0
    values="$(pulumi env open "${ref}" 2>"${errors}")" || status=$?
    if (( status == 0 )) && [[ "${values}" == "{"*"}" ]]; then
      echo "Opened the ESC environment ${ref} (its values were read and discarded)"
      rm -f "${errors}"
      continue
    fi
    values=""
    if (( status == 0 )); then
      echo "error: ESC environment ${ref}: the answer is not an environment's values (an ESC API change?)" >&2
      status=6
    elif grep -qiE '403|forbidden|not authorized|permission' "${errors}"; then
      echo "error: ESC environment ${ref}: refused (403): the token's role cannot open it" >&2
      status=4
    elif grep -qiE '404|not found|does not exist' "${errors}"; then
      echo "error: ESC environment ${ref}: not found (404): check the organization, project and name" >&2
      status=5
    else
      echo "error: ESC environment ${ref}: could not be opened: $(head -n 1 "${errors}")" >&2
      status=6
    fi
    rm -f "${errors}"
    return "${status}"
  done
}
