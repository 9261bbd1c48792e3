"""The token lifecycle: issuing, refresh rotation, cookie policy, the token endpoints'
framework-free logic and their request bodies.

Imports the core and the store protocol; knows no framework.
"""
