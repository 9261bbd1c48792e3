"""Service to service: a FastAPI gateway calls a Flask service for the user, and as itself.

``python -m examples.microservices`` runs it end to end; see
:mod:`examples.microservices.__main__`.
"""
