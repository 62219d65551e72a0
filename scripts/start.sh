#!/bin/sh
# Starts Deputy's production build: `scripts/start.sh serve|stdio [flags]` runs it from the V8
# startup snapshot (src/README.md D47) when the Node here is the one that built it; otherwise,
# and for every other command, `node dist/src/main.js`, as before the snapshot. `npm run serve`
# and the container run this. Node replaces the shell (exec), so signals reach it directly.
dist="$(dirname "$0")/../dist"
blob="$dist/snapshot/deputy.blob"

# Node refuses a blob built by another binary (exit 14), and Node 20 one started with any V8 flag
# it was not built with. Node 24 takes heap sizes; anything else in NODE_OPTIONS (a --require
# or --import preload, --enable-source-maps) expects modules loaded, not snapshotted.
why_not() {
  here="$(node --version) $(uname -m)"
  [ "$built" = "$here" ] || { echo "the startup snapshot was built by Node $built, this is $here (npm run build rebuilds it)"; return; }
  [ -n "${NODE_OPTIONS-}" ] || return
  case "$built" in
    v2[0-3].*) echo "NODE_OPTIONS is set, and this Node starts a snapshot only with the V8 flags it was built with"; return ;;
  esac
  for flag in $NODE_OPTIONS; do
    case "$flag" in
      --max-old-space-size=* | --max-semi-space-size=*) ;;
      *) echo "NODE_OPTIONS holds $flag (only --max-old-space-size and --max-semi-space-size keep the snapshot)"; return ;;
    esac
  done
}

case "${1-}" in
  serve | stdio)
    if [ -f "$blob" ]; then
      built='(unknown)'
      [ -f "$blob.node" ] && read -r built < "$blob.node"
      why="$(why_not)"
      [ -z "$why" ] && exec node --snapshot-blob "$blob" "$@"
      echo "deputy: starting without the startup snapshot: $why" >&2
    fi
    ;;
esac
exec node "$dist/src/main.js" "$@"
