#!/usr/bin/env bash
# Restore a backup into a NEW database and check it: ops/restore.sh DUMP TARGET_DATABASE_URL
# Creates the target database (it must not exist yet), restores the dump, checks that no
# migration is missing and that the ledger balances (manage.py ledger_check). Exits non-zero at
# the first step that fails. Run from the project folder with its virtualenv.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 DUMP TARGET_DATABASE_URL" >&2
  exit 2
fi
dump="$1"
target="$2"
name="${target##*/}"; name="${name%%\?*}"
server="${target%/*}/postgres"
python="${PYTHON:-.venv/bin/python}"

psql "$server" -v ON_ERROR_STOP=1 -Atqc "create database \"$name\""
pg_restore --no-owner --no-privileges --exit-on-error --dbname="$target" "$dump"
DATABASE_URL="$target" "$python" manage.py migrate --check --noinput >/dev/null \
  || { echo "restore: the backup lacks migrations this code needs (run migrate)" >&2; exit 1; }
DATABASE_URL="$target" "$python" manage.py ledger_check
echo "restore: $dump restored into $name and checked"
