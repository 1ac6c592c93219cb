# Installs the Debian packages the suite needs, when they are missing: sourced by scripts/test
# (and so by .ci/run). Quiet on success; one line per package it installs; a precise error when
# it cannot (not root and no sudo, or apt-get fails).

# ensure_packages CMD:PACKAGE ...: for each CMD not on PATH (or an absolute path that is not
# executable), install PACKAGE through apt-get, as root or through sudo.
ensure_packages() {
  local missing=() pair cmd pkg
  for pair in "$@"; do
    cmd=${pair%%:*}
    pkg=${pair#*:}
    if [[ $cmd == /* ]]; then
      [ -x "$cmd" ] && continue
    else
      command -v "$cmd" >/dev/null 2>&1 && continue
    fi
    missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0

  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      echo "error: the tests need ${missing[*]} (apt-get install -y ${missing[*]}); run as root or with passwordless sudo" >&2
      return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: the tests need ${missing[*]}, and this machine has no apt-get to install them" >&2
    return 1
  fi
  echo "== installing ${missing[*]} (apt-get)" >&2
  local log
  log=$(mktemp)
  if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
         "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "error: apt-get could not install ${missing[*]}" >&2
    return 1
  fi
  rm -f "$log"
}
