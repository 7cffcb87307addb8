#!/bin/bash
# Keep a pod logged in to Pulumi Cloud for as long as it runs, with no stored token: exchange the
# kubelet-rotated projected token, re-exchange before the Pulumi token expires and whenever the
# projected token changes, and publish the CLI's credentials into a PULUMI_HOME the application
# shares. Runs as a native sidecar (an init container with restartPolicy: Always); the application
# starts once the first login succeeded (its startup probe waits for the ready file).
set -euo pipefail

: "${PULUMI_OIDC_TOKEN_FILE:?names the projected token file}"
: "${PULUMI_OIDC_ORG:?names the Pulumi organization}"
: "${PULUMI_BACKEND_URL:?names the Pulumi Cloud API}"
: "${KEYLESS_SHARED_HOME:?names the PULUMI_HOME shared with the application}"
: "${KEYLESS_LIFETIME_SECONDS:?is the lifetime of the exchanged token, in seconds}"
refresh_percent="${KEYLESS_REFRESH_PERCENT:-50}"   # re-exchange after this share of the lifetime
poll_seconds="${KEYLESS_POLL_SECONDS:-30}"         # how often the projected token is looked at
max_attempts="${KEYLESS_MAX_ATTEMPTS:-5}"          # failed exchanges in a row before giving up
retry_seconds="${KEYLESS_RETRY_SECONDS:-5}"        # first backoff; doubled after each failure
ready_file="${KEYLESS_SHARED_HOME}/.keyless-ready"

# The CLI refuses a token exchange while an access token is set.
unset PULUMI_ACCESS_TOKEN
# The CLI writes its credentials here first; they reach the shared home only whole (rename).
PULUMI_HOME="$(mktemp -d)"
export PULUMI_HOME

now_ms() { date +%s%3N; }
# A digest of the token file tells a rotation apart without ever showing the token.
token_digest() { cksum < "${PULUMI_OIDC_TOKEN_FILE}" | cut -d' ' -f1; }

claims_line() {
  local payload claims
  payload="$(cut -d. -f2 "${PULUMI_OIDC_TOKEN_FILE}" | tr -- '-_' '+/')"
  while (( ${#payload} % 4 )); do payload+="="; done
  claims="$(printf '%s' "${payload}" | base64 -d 2>/dev/null)" || claims=""
  printf 'sub=%s exp=%s' \
    "$(printf '%s' "${claims}" | grep -o -E '"sub" *: *"[^"]*"' | head -n 1 | sed -E 's/^"[^"]*" *: *//')" \
    "$(printf '%s' "${claims}" | grep -o -E '"exp" *: *[0-9]+' | head -n 1 | sed -E 's/^"[^"]*" *: *//')"
}

login_once() {
  local args=(login "${PULUMI_BACKEND_URL}" --oidc-token "file://${PULUMI_OIDC_TOKEN_FILE}" --oidc-org "${PULUMI_OIDC_ORG}")
  if [[ -n "${PULUMI_OIDC_TEAM:-}" ]]; then args+=(--oidc-team "${PULUMI_OIDC_TEAM}"); fi
  if [[ -n "${PULUMI_OIDC_USER:-}" ]]; then args+=(--oidc-user "${PULUMI_OIDC_USER}"); fi
  args+=(--oidc-expiration "${KEYLESS_LIFETIME_SECONDS}s")
  pulumi "${args[@]}" >/dev/null || return 1
  [[ -s "${PULUMI_HOME}/credentials.json" ]] || return 1
  cp "${PULUMI_HOME}/credentials.json" "${KEYLESS_SHARED_HOME}/.credentials.json.tmp"
  mv -f "${KEYLESS_SHARED_HOME}/.credentials.json.tmp" "${KEYLESS_SHARED_HOME}/credentials.json"
}

login_with_retries() {
  local attempt=1 delay="${retry_seconds}"
  while true; do
    echo "Exchanging the projected token (attempt ${attempt}/${max_attempts}; $(claims_line))"
    if login_once; then
      echo "Logged in; credentials published to ${KEYLESS_SHARED_HOME}"
      return 0
    fi
    if (( attempt >= max_attempts )); then
      echo "error: the exchange failed ${max_attempts} times in a row; giving up (the pod restarts this sidecar)" >&2
      return 1
    fi
    echo "warning: the exchange failed; retrying in ${delay}s" >&2
    sleep "${delay}"
    delay=$(( delay * 2 ))
    attempt=$(( attempt + 1 ))
  done
}

refresh_ms=$(( KEYLESS_LIFETIME_SECONDS * 1000 * refresh_percent / 100 ))
# The digest is taken before each exchange: a rotation during it is still seen afterwards.
digest="$(token_digest)"
login_with_retries || exit 1
touch "${ready_file}"
renewed="$(now_ms)"
while true; do
  sleep "${poll_seconds}"
  if [[ "$(token_digest)" != "${digest}" ]]; then
    echo "The projected token was rotated: re-exchanging"
  elif (( $(now_ms) - renewed >= refresh_ms )); then
    echo "The Pulumi token is due for renewal: re-exchanging"
  else
    continue
  fi
  digest="$(token_digest)"
  if ! login_with_retries; then
    rm -f "${ready_file}"
    exit 1
  fi
  renewed="$(now_ms)"
done
