"""The request policy shared by the ASGI and WSGI adapters and the integrations, without
I/O: authentication modes, public paths, token location, readiness.
"""
