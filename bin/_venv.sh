# shellcheck shell=bash
# Shared by bin/run and bin/test: create .venv with Python 3.11 and install a requirements
# file, skipping pip when the file has not changed since the last install.
ensure_venv() {
  local req="$1"
  local py="${PYTHON:-python3.11}"
  if ! command -v "$py" >/dev/null 2>&1; then
    echo "error: $py not found. Install Python 3.11 (or set PYTHON=/path/to/python3.11)." >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv with $py ..."
    "$py" -m venv .venv
  fi
  local stamp=".venv/.installed-$(basename "$req")"
  local digest
  digest="$(cat "$req" requirements.txt | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "Installing $req into .venv ..."
    .venv/bin/python -m pip install --disable-pip-version-check -q -r "$req" 2> >(grep -v "^WARNING: Location" >&2)
    echo "$digest" > "$stamp"
  fi
}
