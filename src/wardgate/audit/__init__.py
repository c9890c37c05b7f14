"""The tamper-evident audit trail (DESIGN.md, "Evidence"; docs/audit.md).

- `chain`: canonical JSON and the SHA-256 / HMAC hash chain;
- `journal`: the append-only local journal (the durability point) and its recovery;
- `log`: `AuditLog`, which seals records and appends them before results are released;
- `reader`, `verify`: reading the journal forward and checking a chain;
- `pump`, `sinks`, `syslog`, `ocsf`, `schema`: the asynchronous sinks fed from the journal;
- `statement`: literal redaction and fingerprints;
- `evidence`: what sessions call (audit records and recordings together);
- `setup`: building all of it from the configuration.
"""
