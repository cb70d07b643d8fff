"""Authentication: SCRAM credentials, their durable store and the SASL exchanges.

The authorizer and ACLs live beside these modules but are not imported from here.
"""
