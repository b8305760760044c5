"""Server-side signing keys: the platform's Ed25519 / SM2-SM3 keys, their rotation and revocation,
the trust list terminals verify against, and `payload_sign` for whoever publishes a message."""
