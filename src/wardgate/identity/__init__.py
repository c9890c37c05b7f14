"""Who is asking: static tokens now, OIDC issuers beside them."""
