"""plato: a stateless platform orchestrator for GitOps (Read -> Match -> Create -> Deploy)."""

__version__ = "0.1.0"
