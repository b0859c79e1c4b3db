#!/usr/bin/env bash
# A backup of the database: ops/backup.sh DATABASE_URL OUTPUT.dump
# pg_dump's custom format (compressed, restorable table by table with pg_restore), without owners
# or grants so that it restores into any role's database. Copy the bucket right after it:
# `python manage.py bucket_backup FOLDER` (docs/operations.md, "Backups").
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 DATABASE_URL OUTPUT.dump" >&2
  exit 2
fi
pg_dump --format=custom --no-owner --no-privileges --file="$2" "$1"
echo "backup: $(du -h "$2" | cut -f1) written to $2"
