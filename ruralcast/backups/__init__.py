"""Backups of one ruralcast instance, and their restore onto a fresh one (docs/deploy.md, "Backup and restore").

`manage.py backup_create --out DIR` writes one directory:

    DIR/manifest.json         what is in it: versions, applied migrations, every file's size and SHA-256
    DIR/database/db.sqlite3   SQLite, copied through the online backup API (a consistent snapshot), or
    DIR/database/ruralcast.pgdump   PostgreSQL, `pg_dump -Fc` (one consistent snapshot too)
    DIR/keys.enc              the private signing keys, AES-256-GCM under a key derived with scrypt from
                              a passphrase that is never written into the backup
    DIR/media/…               MEDIA_ROOT: alert and programme audio, media assets, firmware, photos
    DIR/uploads/…             resumable uploads still in progress
    DIR/broker/mosquitto.db   the broker's persistence file (retained alerts, trust list, sessions)

The broker's configuration, password and ACL files are not in it: `broker_run` writes them from the
database on every start, and the platform's own broker password is generated anew when missing.

`manage.py backup_restore DIR` checks the manifest (its HMAC, when the backup holds keys) and every
file's size and checksum before it touches anything, refuses a target that is not empty (a database
with tables, a key, a media file, a broker state), then restores and migrates, and ends by verifying
the audit chain. A replica is not a backup: it copies a mistake or a ransomware encryption within
seconds; a backup is a point in time kept elsewhere.

Layer: the top, beside web and ops' views (it reads the state of audit, signing, messaging and
media); nothing imports it.
"""
