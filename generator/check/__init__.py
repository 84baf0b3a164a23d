"""The check stage, after create: what plato is about to write, send or print is checked before it leaves.

Today it holds the secret guard (`guard`, with the one detector in `secrets`); admission policies come next.
"""
