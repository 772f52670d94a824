"""The BPJS Kesehatan "Antrean Online" bridge (issue #6).

:mod:`.module` is the pure part (visits' BPJS identity, the outbox progress; ``[[modules]] use =
"bpjs"`` loads :data:`MODULE`), :mod:`.tasks` derives what BPJS is told from the engine's events
(pure), :mod:`.crypto` and :mod:`.lzstring` sign requests and open encrypted answers,
:mod:`.client` sends them, :mod:`.mobilejkn` serves Mobile JKN's calls, and :mod:`.site` is the
web part that runs the outbox worker. Only the pure module is imported here.
"""

from .module import MODULE, BpjsModule

__all__ = ["MODULE", "BpjsModule"]
