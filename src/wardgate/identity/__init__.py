"""Who is asking: static tokens and OIDC issuers side by side (docs/identity.md)."""
