"""Human review: hold a risky command, ask the right people, release or refuse it."""
