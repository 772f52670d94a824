"""The pure core of Antre: decide and apply, with no I/O, clock reads or randomness.

Time (``at``, milliseconds since the Unix epoch, UTC) and fresh ids come in with each
command; everything here is a deterministic function of its inputs, which is what makes
replay exact.
"""
