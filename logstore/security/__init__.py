"""Security: who a client is (SCRAM credentials, SASL exchanges) and what it may do (ACLs)."""
