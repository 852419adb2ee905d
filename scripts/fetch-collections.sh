#!/usr/bin/env bash
# Unpack the Ansible collections Molecule and ansible-lint need from the pinned `ansible`
# wheel on PyPI (requirements-ansible.txt) into .cache/collections/ansible_collections/.
# No Ansible Galaxy. Does nothing when the collections are already there.
# Use:  export ANSIBLE_COLLECTIONS_PATH="$PWD/.cache/collections:$PWD/playbooks/collections"
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
req="$repo/requirements-ansible.txt"
dest="$repo/.cache/collections"
pin="$(grep -E '^ansible==' "$req")"
read -r -a collections <<<"$(sed -n 's/^# COLLECTIONS: *//p' "$req")"

missing=()
for c in "${collections[@]}"; do
    [[ -f "$dest/ansible_collections/${c/.//}/MANIFEST.json" ]] || missing+=("$c")
done
if [[ -f "$dest/.pin" && "$(cat "$dest/.pin")" == "$pin" && ${#missing[@]} -eq 0 ]]; then
    echo "collections from $pin present in $dest: nothing to do"
    exit 0
fi

python="${PYTHON:-python3}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "$pin"
wheel="$(ls "$tmp"/ansible-*.whl)"
patterns=()
for c in "${collections[@]}"; do patterns+=("ansible_collections/${c/.//}/*"); done
rm -rf "$dest/ansible_collections"
mkdir -p "$dest"
"$python" - "$wheel" "$dest" "${patterns[@]}" <<'PY'
import fnmatch, sys, zipfile
wheel, dest, *patterns = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if any(fnmatch.fnmatch(n, p) for p in patterns)]
    z.extractall(dest, names)
print(f"unpacked {len(names)} files")
PY
echo "$pin" >"$dest/.pin"
echo "collections ${collections[*]} from $pin in $dest"
