# shellcheck shell=bash
# Shared by bin/run and bin/test: create .venv with Python 3.11 and install a requirements
# file, skipping pip when the file has not changed since the last install. pip prints a line
# per package (no -q): a first install takes minutes and must not look like a hang.

# "==> [  12 s] what is happening": one line per step, with the seconds since the script began.
step() {
  printf '==> [%4d s] %s\n' "$SECONDS" "$*"
}

ensure_venv() {
  local req="$1"
  local py="${PYTHON:-python3.11}"
  if ! command -v "$py" >/dev/null 2>&1; then
    echo "error: $py not found. Install Python 3.11 (or set PYTHON=/path/to/python3.11)." >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    step "Creating .venv with $py"
    "$py" -m venv .venv
  fi
  local stamp=".venv/.installed-$(basename "$req")"
  local digest
  digest="$(cat "$req" requirements.txt | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    step "Installing $req into .venv (a few minutes the first time; pip lists each package)"
    # Unbuffered through the pipe, so each package shows as pip reaches it.
    PYTHONUNBUFFERED=1 .venv/bin/python -m pip install --disable-pip-version-check \
      --progress-bar off -r "$req" 2> >(grep -v "^WARNING: Location" >&2) |
      { grep --line-buffered -v "^Requirement already satisfied" || true; }
    echo "$digest" > "$stamp"
    step "Installed $req"
  fi
}
