"""Where keys come from beyond a static set: the remote JWKS client's cache and bounded
downloads, the key ring on disk, JWKS publishing, several trusted issuers.

Imports the core; HTTP clients only inside the functions that fetch.
"""
