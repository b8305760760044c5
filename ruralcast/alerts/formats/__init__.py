"""Emergency messages as files other systems read and write: OASIS CAP 1.2 and the Chinese EBM XML.

- `cap.alert_to_cap` / `cap.cap_import`: CAP 1.2 (`urn:oasis:names:tc:emergency:cap:1.2`), checked
  against the OASIS schema vendored in data/alerts/CAP-v1.2.xsd.
- `ebm.alert_to_ebm` / `ebm.ebm_import`: an `<EBD>` packet carrying one `<EBM>`, as public
  implementations of GD/J 082 / GY/T 385 write it. No official XSD exists for it, so its structure
  is checked in code.
- `package.ebd_package`: the `EBDT_<EBDID>.tar` a platform exchanges (packet, signature, audio).

An import never sends anything: it drafts a message through `services.alert_create` (same rules,
access checks and audit trail as the console), which then needs submission and a second person's
approval. The field mapping CAP ↔ EBM ↔ `Alert` is documented in docs/protocols.md, section
"CAP 1.2 and EBM XML".
"""
