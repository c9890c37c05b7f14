"""Connection set-up time: direct vs through wardgate (static, OIDC + Vault cold/warm)."""
