"""Security: who a client is (listeners, SASL, TLS) and what it may do (ACLs)."""
