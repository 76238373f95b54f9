#!/usr/bin/env bash
# t_layers: the include rules of docs/ARCHITECTURE.md, checked against
# the tree. The layer table there is the only statement of the rules: this
# script reads it, so the map and the check cannot drift apart. Speaks TAP.
#
#   tests/t_layers.sh          check this tree
#   tests/t_layers.sh ROOT     check the tree at ROOT (used by the self-test)
set -u
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
DOC=$ROOT/docs/ARCHITECTURE.md
n=0 bad=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $1"; }

[ -f "$DOC" ] || { echo "1..1"; echo "not ok 1 - $DOC exists"; exit 1; }

# The table rows: | `folder/` | may include | what |
declare -A allowed=()
order=()
while IFS='|' read -r _ folder may _; do
	folder=$(echo "$folder" | grep -oE '^ *`[a-z_]+/`' | tr -d ' `/')
	[ -n "$folder" ] || continue
	if echo "$may" | grep -q 'every folder above'; then
		deps="${order[*]}"
	else
		deps=$(echo "$may" | grep -oE '`[a-z_]+/`' | tr -d '`/' | tr '\n' ' ')
	fi
	allowed[$folder]="$folder $deps"
	order+=("$folder")
done < <(grep -E '^\| `[a-z_]+/` \|' "$DOC")

if [ ${#order[@]} -ge 3 ]; then ok "docs/ARCHITECTURE.md names ${#order[@]} layers: ${order[*]}"
else notok "docs/ARCHITECTURE.md has a layer table (found ${#order[@]} rows)"; fi

# Every folder the map names exists, and every folder with C sources is on it.
missing=""
for f in "${order[@]}"; do [ -d "$ROOT/$f" ] || missing+=" $f"; done
if [ -z "$missing" ]; then ok "every folder the map names exists"
else notok "folders named in docs/ARCHITECTURE.md but missing:$missing"; fi
unmapped=""
for d in "$ROOT"/*/; do
	d=$(basename "$d")
	case $d in tests|build|docs|man|debian|node_modules) continue ;; esac
	ls "$ROOT/$d"/*.[ch] >/dev/null 2>&1 || continue
	[ -n "${allowed[$d]+x}" ] || unmapped+=" $d"
done
if [ -z "$unmapped" ]; then ok "every folder of C sources is on the map"
else notok "folders of C sources missing from docs/ARCHITECTURE.md:$unmapped"; fi

# Every file the map names by its path exists (a move that leaves the map
# behind is caught here).
stale=""
[ -n "${T_LAYERS_INNER:-}" ] ||
for p in $(grep -oE '`[a-z_]+/[a-z_/]*[a-z_]+\.(c|h|sh|md|js|mjs)`' "$DOC" | tr -d '`' | sort -u); do
	[ -e "$ROOT/$p" ] || [ -e "$ROOT/docs/$p" ] || stale+=" $p"
done
if [ -n "${T_LAYERS_INNER:-}" ]; then :
elif [ -z "$stale" ]; then ok "every file the map names exists"
else notok "files named in docs/ARCHITECTURE.md but missing:$stale"; fi

# Each include of a project header names an allowed folder (or a file of
# the includer's own folder).
for f in "${order[@]}"; do
	[ -d "$ROOT/$f" ] || continue
	wrong=""
	while IFS= read -r line; do
		file=${line%%:*}
		inc=$(echo "$line" | sed -E 's/.*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1/')
		case $inc in
		*/*)
			top=${inc%%/*}
			case " ${allowed[$f]} " in *" $top "*) ;; *) wrong+=" ${file#"$ROOT"/}->$inc" ;; esac ;;
		*)
			[ -f "$(dirname "$file")/$inc" ] || wrong+=" ${file#"$ROOT"/}->$inc" ;;
		esac
	done < <(grep -HE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"' "$ROOT/$f"/*.[ch] 2>/dev/null)
	if [ -z "$wrong" ]; then ok "$f/ includes only ${allowed[$f]}"
	else notok "$f/ includes what the map forbids:$wrong"; fi
done

# The check must be able to fail: on a copy of the map with a tree where a
# lower layer includes an upper one, it must report it.
if [ -z "${T_LAYERS_INNER:-}" ]; then
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/t_layers.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/docs"
	cp "$DOC" "$tmp/docs/"
	for f in "${order[@]}"; do mkdir -p "$tmp/$f"; echo "int x_$f;" >"$tmp/$f/a.h"; done
	good=$(T_LAYERS_INNER=1 bash "$SELF" "$tmp" 2>&1)
	echo '#include "cli/a.h"' >"$tmp/base/b.c"
	out=$(T_LAYERS_INNER=1 bash "$SELF" "$tmp" 2>&1)
	if echo "$good" | grep -q '^not ok'; then
		notok "self-test: a clean tree passes ($(echo "$good" | grep '^not ok' | head -1))"
	elif echo "$out" | grep -q '^not ok.*base/b.c->cli/a.h'; then
		ok "self-test: base/ including cli/ is reported"
	else
		notok "self-test: base/ including cli/ was not reported"
	fi
fi

echo "1..$n"
[ "$bad" = 0 ]
