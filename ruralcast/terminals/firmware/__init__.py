"""Firmware for terminals: its own role, two persons, its own signing key, and a manifest that says
which devices, where and until when (docs/fleet.md §4, docs/protocols.md §8, docs/security.md).

- `services`: `firmware_upload` (one person, `firmware.manage` over every target region),
  `firmware_approve` (another person holding the role over every target; signs the manifest with
  the firmware key), `firmware_reject`, and `firmware_command_params`, which `commands.command_send`
  calls to build a firmware command's parameters from an approved release (the download URL is the
  platform's own, never the caller's).
- `selectors`: scoped reads (`firmware_release_list`, `access_firmware_release`) and the file a
  terminal may download (`firmware_file_servable`).
- `views`, `forms`: the console pages under /terminals/firmware/.
"""
