"""The TV display board: a full-screen page, Indonesian voice calls, offline-safe."""
