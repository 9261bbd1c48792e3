"""Sans-IO verification: strict JWS parsing, keys and key sets, configuration and
settings, claims, the principal, the verifier, guards and the exception tree.

Imports the standard library, PyJWT, cryptography and the store protocol only.
"""
