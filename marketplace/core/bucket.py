"""Backing up the bucket, restoring it, and checking that the database and the files agree.

The database backup (``ops/backup.sh``) holds the names of the uploaded files; the files live in
the bucket (``marketplace.core.storage``). A backup is both, taken together:

- ``manage.py bucket_backup FOLDER`` copies every object of the bucket into ``FOLDER`` (its key
  as the relative path), like ``aws s3 sync s3://bucket FOLDER``: objects already in the folder
  with the same size are skipped, so a nightly run into the same folder copies only what is new.
  Objects are never overwritten (``AWS_S3_FILE_OVERWRITE = False``: a new upload gets a new key),
  so a key with the same size is the same file.
- ``manage.py bucket_restore FOLDER`` uploads the folder into the configured bucket (a new one,
  or the old one after a loss), skipping objects already there with the same size.
- ``manage.py files_check`` looks up every file named by a ``FileField`` of any model in its
  storage (bucket or disk) and lists those that are missing: run it after a restore.

Take the database dump first and copy the bucket after it: every file a dump names was uploaded
before the dump, so it is in the later copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files.storage import storages
from django.db import models


class NoBucket(Exception):
    """No bucket is configured: the files are on the local disk."""


@dataclass
class SyncResult:
    copied: int = 0
    skipped: int = 0
    bytes: int = 0


def _client_and_bucket():
    if not settings.AWS_STORAGE_BUCKET_NAME:
        raise NoBucket(
            "No bucket is configured (AWS_STORAGE_BUCKET_NAME): the files are on the local disk; "
            "back up MEDIA_ROOT and PRIVATE_MEDIA_ROOT with the file system."
        )
    storage = storages["private"]  # any S3 storage: they share the bucket and its settings
    return storage.connection.meta.client, storage.bucket_name


def _objects(client, bucket: str) -> Iterator[tuple[str, int]]:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            yield item["Key"], item["Size"]


def _local_path(folder: Path, key: str) -> Path:
    path = (folder / key).resolve()
    if not path.is_relative_to(folder.resolve()):  # a key like "../x" must not escape
        raise ValueError(f"object key outside the backup folder: {key!r}")
    return path


def bucket_backup(folder: Path) -> SyncResult:
    client, bucket = _client_and_bucket()
    result = SyncResult()
    for key, size in _objects(client, bucket):
        if key.endswith("/"):
            continue  # a "folder" placeholder some tools create
        target = _local_path(folder, key)
        if target.is_file() and target.stat().st_size == size:
            result.skipped += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        client.download_file(bucket, key, str(partial))
        partial.replace(target)  # never a half-written file under the real name
        result.copied += 1
        result.bytes += size
    return result


def bucket_restore(folder: Path) -> SyncResult:
    client, bucket = _client_and_bucket()
    present = dict(_objects(client, bucket))
    result = SyncResult()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.name.endswith(".partial"):
            continue
        key = path.relative_to(folder).as_posix()
        size = path.stat().st_size
        if present.get(key) == size:
            result.skipped += 1
            continue
        client.upload_file(str(path), bucket, key)
        result.copied += 1
        result.bytes += size
    return result


def _file_fields() -> Iterator[tuple[type[models.Model], models.FileField]]:
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.FileField):
                yield model, field


def missing_files() -> list[str]:
    """``app.Model.field #pk: name`` of every stored file name whose file is not there."""
    missing = []
    for model, field in _file_fields():
        rows = model._default_manager.exclude(**{field.name: ""}).exclude(
            **{f"{field.name}__isnull": True}
        )
        for pk, name in rows.values_list("pk", field.name).iterator():
            if not field.storage.exists(name):
                missing.append(f"{model._meta.label}.{field.name} #{pk}: {name}")
    return missing
