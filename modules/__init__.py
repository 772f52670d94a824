"""Secondary modules that plug into the Antre engine without touching its core.

Each subpackage is one module (``modules.elampid`` is the first). A module's ``domain`` is
pure, like ``queue_engine.domain``: no I/O, no clock reads, no randomness (import-linter and
``tests/modules`` enforce it).
"""
