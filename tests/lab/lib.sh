# Shell functions the lab scripts share (sourced by tests/lab/start and tests/lab/other-server).
# shellcheck shell=bash

# Every lab user's password, and the users (log in with the full address).
LAB_PASSWORD="labpass"
LAB_USERS="orders@lindenclay.test mara@lindenclay.test sam@lindenclay.test pat@example.test pat.okafor@example.test lee@example.org kim@example.net service@paypal.example notifications@stripe.example alerts@bank.example sink@example.test"

say() { printf 'lab: %s\n' "$*"; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The lab dir as the scripts accept it: absolute, plain characters (env lines need no quoting),
# short enough for unix socket paths under it (the kernel's limit is 108 bytes).
check_lab_dir() {
  [[ "$1" == /* ]] || die "MAILCART_LAB_DIR must be an absolute path (got '$1')"
  [[ "$1" =~ ^/[A-Za-z0-9._/-]+$ ]] \
    || die "MAILCART_LAB_DIR may only contain letters, digits and . _ / - (got '$1')"
  (( ${#1} <= 60 )) || die "MAILCART_LAB_DIR is too long for unix socket paths (max 60 characters)"
}

check_port() {
  [[ "$1" =~ ^[0-9]+$ ]] && (( $1 > 1024 && $1 < 65536 )) || die "bad port '$1' (want 1025-65535)"
}

# apt-get install PACKAGES..., output to LOG, with /usr/sbin/policy-rc.d answering 101 meanwhile
# so that no maintainer script starts a system daemon (on 25/143/993, from /etc); policy-rc.d is
# created and removed again if it was not there, and put back as it was if it said something
# else. Retries once after apt-get update (a fresh machine has no package lists).
apt_install_quietly() { # log package...
  local log=$1; shift
  local policy=/usr/sbin/policy-rc.d policy_backup="" created_policy=0
  if [[ -e $policy ]]; then
    if ! grep -qx 'exit 101' "$policy"; then
      policy_backup=$(mktemp /tmp/policy-rc.d.XXXXXX)
      cp -p "$policy" "$policy_backup"
      printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"
    fi
  else
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created_policy=1
  fi
  restore_policy() {
    if (( created_policy )); then rm -f "$policy"; fi
    if [[ -n $policy_backup ]]; then cp -p "$policy_backup" "$policy"; rm -f "$policy_backup"; fi
  }
  trap restore_policy EXIT
  local apt=(apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confdef
             -o Dpkg::Options::=--force-confold "$@")
  if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" >"$log" 2>&1; then
    say "apt-get install failed; running apt-get update and retrying"
    apt-get update >>"$log" 2>&1 || die "apt-get update failed (see $log)"
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" >>"$log" 2>&1 || die "apt-get install failed (see $log)"
  fi
  restore_policy; trap - EXIT
}

# A small CA (ca.pem, what clients trust) and a server certificate it signs, for localhost and
# 127.0.0.1, in DIR (cert.pem, key.pem), unless DIR holds a valid pair already; logs to LOG.
# Not one self-signed certificate: rustls/webpki refuses a CA certificate used as the server's
# own ("CaUsedAsEndEntity"), and OpenSSL's `req -x509` marks it as a CA.
make_lab_certs() { # dir log
  local d=$1 log=$2
  if [[ -s "$d/ca-key.pem" && -s "$d/cert.pem" && -s "$d/key.pem" ]] \
     && openssl verify -CAfile "$d/ca.pem" "$d/cert.pem" >/dev/null 2>&1; then
    return 0
  fi
  rm -f "$d"/*.pem "$d"/*.ext "$d"/*.srl "$d"/*.csr
  {
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
      -keyout "$d/ca-key.pem" -out "$d/ca.pem" -subj "/CN=mailcart lab CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    && openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$d/key.pem" -out "$d/server.csr" \
      -subj "/CN=localhost" \
    && printf '%s\n' "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
      "subjectAltName=DNS:localhost,IP:127.0.0.1" > "$d/server.ext" \
    && openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" \
      -CAcreateserial -days 3650 -sha256 -extfile "$d/server.ext" -out "$d/cert.pem"
  } >"$log" 2>&1 || die "openssl could not make the lab certificates: $(tail -5 "$log")"
  chmod 600 "$d/key.pem" "$d/ca-key.pem"
}
