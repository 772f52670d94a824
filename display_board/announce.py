"""Indonesian call announcements: ticket number + counter -> spoken text and voice-clip order.

(Stub signature fixed for the web layer; completed in issue #3.)
"""

from __future__ import annotations


def announcement(number: str, counter_name: str) -> dict[str, object]:
    """``{"text": "Nomor antrean A dua belas, silakan menuju Loket dua", "clips": [...]}``."""
    return {"text": f"Nomor antrean {number}, silakan menuju {counter_name}", "clips": []}
