#!/bin/sh
# Entry point of the dag image (after tini): `docker run <image> <dag command...>`, e.g.
# `dev`, `daemon`, `worker`, `instance migrate`, `execute-run <id>`. A first argument that is a
# program on PATH (sh, node, dag) runs as given.
set -e

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- dev "$@"
fi
if command -v "$1" >/dev/null 2>&1; then
  exec "$@"
fi

if [ "$1" = dev ]; then
  shift
  # Inside a container the server must listen on every interface for a published port to
  # reach it; `dag dev` then requires a token. Without DAG_UI_TOKEN one is made once and kept
  # in the instance folder (never printed).
  case " $* " in
    *" --host "* | *" --host="*) ;;
    *) set -- --host 0.0.0.0 "$@" ;;
  esac
  if [ -z "${DAG_UI_TOKEN:-}" ]; then
    token_file="${DAG_HOME:-/var/lib/dag}/ui-token"
    if [ ! -s "$token_file" ]; then
      mkdir -p "$(dirname "$token_file")"
      (umask 077 && node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex"))' >"$token_file")
    fi
    DAG_UI_TOKEN="$(cat "$token_file")"
    export DAG_UI_TOKEN
    echo "dag: DAG_UI_TOKEN is not set: the UI's token is in $token_file. Read it with 'docker exec <container> cat $token_file', then open http://localhost:3000/?token=<token> once." >&2
  fi
  set -- dev "$@"
fi

exec node /app/packages/cli/bin/dag.js "$@"
