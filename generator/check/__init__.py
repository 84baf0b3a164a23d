"""The check stage, after create: what plato is about to write, send or print is checked before it leaves.

Today it holds the secret guard (`guard`); the detector it uses is the base module generator/credentials.py,
shared with the stages before it and with the error messages' mask. Admission policies come next.
"""
