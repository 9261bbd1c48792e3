"""The pytest plugin's parts: a JWKS server and a token factory that need no pytest, and
the fixtures that do.
"""
