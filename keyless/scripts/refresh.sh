#!/bin/bash
# Keep a pod logged in to Pulumi Cloud for as long as it runs, with no stored token: exchange the
# kubelet-rotated projected token, re-exchange before the Pulumi token expires and whenever the
# projected token changes, and publish the CLI's credentials into the folder the application's
# CLI reads (its PULUMI_CREDENTIALS_PATH). Runs as a native sidecar (an init container with
# restartPolicy: Always); the application starts once the first login succeeded (the sidecar's
# startup probe waits for the ready file).
#
# The application may run as another UID: the pod's fsGroup owns the shared folder, and the
# credentials are written group-readable and group-writable (the CLI rewrites the file it reads on
# every command, and fails if it cannot). What an application's CLI writes back is watched: when
# the token in the shared file is no longer the one published (an older one saved back by a command
# that read it before a renewal), the current credentials are published again.
set -euo pipefail
# shellcheck source=keyless-lib.sh
source "$(dirname "$0")/keyless-lib.sh"
keyless_require_request
: "${KEYLESS_CREDENTIALS_DIR:?names the folder shared with the application (its PULUMI_CREDENTIALS_PATH)}"
refresh_percent="${KEYLESS_REFRESH_PERCENT:-50}"   # re-exchange after this share of the granted lifetime
poll_seconds="${KEYLESS_POLL_SECONDS:-30}"         # how often the token files are looked at
max_attempts="${KEYLESS_MAX_ATTEMPTS:-5}"          # failed exchanges in a row before giving up
retry_seconds="${KEYLESS_RETRY_SECONDS:-5}"        # first backoff; doubled after each failure
ready_file="${KEYLESS_CREDENTIALS_DIR}/.keyless-ready"
published="${KEYLESS_CREDENTIALS_DIR}/credentials.json"
requested_seconds="$(keyless_duration_seconds "${PULUMI_OIDC_EXPIRATION}")"
: "${requested_seconds:?PULUMI_OIDC_EXPIRATION is not a duration such as 2h or 90m}"

# The CLI writes its credentials here first; they reach the shared folder only whole (rename).
# The CLI must write here, not into a folder named by the pod (PULUMI_CREDENTIALS_PATH).
unset PULUMI_CREDENTIALS_PATH
PULUMI_HOME="$(mktemp -d)"
export PULUMI_HOME
export PULUMI_CREDENTIAL_STORE=plaintext
# Group read and write for what this script creates: the application is in the pod's fsGroup.
umask 007

now_ms() { date +%s%3N; }
# Digests tell a rotation or a rewrite apart without ever showing a token.
token_digest() { cksum < "${PULUMI_OIDC_TOKEN_FILE}" | cut -d' ' -f1; }
credentials_digest() { { grep -o -E '"accessToken" *: *"[^"]*"' "$1" 2>/dev/null || true; } | cksum | cut -d' ' -f1; }

publish() {
  cp "${PULUMI_HOME}/credentials.json" "${KEYLESS_CREDENTIALS_DIR}/.credentials.json.tmp"
  chmod 0660 "${KEYLESS_CREDENTIALS_DIR}/.credentials.json.tmp"
  mv -f "${KEYLESS_CREDENTIALS_DIR}/.credentials.json.tmp" "${published}"
  published_digest="$(credentials_digest "${published}")"
}

# Milliseconds until the token just obtained is due for renewal: a share of the lifetime Pulumi
# Cloud granted (tokenInformation.expiresAt, which newer CLIs record; an RFC 3339 time), else of
# the lifetime requested. The granted one can be shorter: the issuer's maximum caps it.
renewal_delay_ms() {
  local expires seconds=""
  expires="$(keyless_json_value "$(tr -d '\n' < "${PULUMI_HOME}/credentials.json")" expiresAt)"
  if [[ -n "${expires}" ]] && expires="$(date -d "${expires}" +%s 2>/dev/null)"; then
    seconds=$(( expires - $(date +%s) ))
    echo "The token obtained expires in ${seconds}s" >&2
  fi
  if [[ -z "${seconds}" ]] || (( seconds <= 0 )); then seconds="${requested_seconds}"; fi
  echo $(( seconds * 1000 * refresh_percent / 100 ))
}

login_once() {
  keyless_login_args
  pulumi "${KEYLESS_LOGIN_ARGS[@]}" >/dev/null || return 1
  [[ -s "${PULUMI_HOME}/credentials.json" ]] || return 1
  publish
}

login_with_retries() {
  local attempt=1 delay="${retry_seconds}"
  while true; do
    echo "Exchanging the projected token (attempt ${attempt}/${max_attempts}; $(keyless_token_summary))"
    if login_once; then
      echo "Logged in; credentials published to ${KEYLESS_CREDENTIALS_DIR}"
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

# The digest is taken before each exchange: a rotation during it is still seen afterwards.
digest="$(token_digest)"
login_with_retries || exit 1
touch "${ready_file}"
due=$(( $(now_ms) + $(renewal_delay_ms) ))
while true; do
  sleep "${poll_seconds}"
  if [[ "$(token_digest)" != "${digest}" ]]; then
    echo "The projected token was rotated: re-exchanging"
  elif (( $(now_ms) >= due )); then
    echo "The Pulumi token is due for renewal: re-exchanging"
  else
    if [[ "$(credentials_digest "${published}")" != "${published_digest}" ]]; then
      echo "The shared credentials no longer hold the current token: publishing it again"
      publish
    fi
    continue
  fi
  digest="$(token_digest)"
  if ! login_with_retries; then
    rm -f "${ready_file}"
    exit 1
  fi
  due=$(( $(now_ms) + $(renewal_delay_ms) ))
done
