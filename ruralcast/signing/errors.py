"""Errors of the signing app (all `ApplicationError`s: they reach people as clear messages)."""

from ruralcast.core.errors import ApplicationError


class NoActiveKey(ApplicationError):
    """Nothing can be signed: the deployment has no active signing key yet."""

    status_code = 409
    code = "no_active_key"


class KeyStoreError(ApplicationError):
    """The key store cannot produce or use a private key (missing file, wrong mode, mismatch)."""

    status_code = 500
    code = "key_store"
