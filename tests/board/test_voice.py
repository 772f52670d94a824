"""The committed voice clips: every call of the demo facility can be spoken, and the set stays small."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from display_board.announce import announcement
from display_board.make_voice import COMMON_WORDS, PRONUNCIATION, main, words_for
from display_board.routes import STATIC, clip_names
from queue_engine.config import demo_path, load_facility

VOICE = STATIC / "voice"


def _is_mp3(path: Path) -> bool:
    head = path.read_bytes()[:3]
    return head == b"ID3" or (head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def test_every_call_of_the_demo_facility_has_its_clips() -> None:
    """Each service prefix, numbers 0..999 (and on to 9999), each counter: every clip is a file."""
    facility = load_facility(demo_path())
    on_disk = set(clip_names())
    needed: set[str] = set()
    for service in facility.services.values():
        for n in range(10_000):
            number = f"{service.prefix}{n:03d}"
            for counter in facility.counters.values():
                if service.code in counter.services or n < 1000:
                    clips = announcement(number, counter.name)["clips"]
                    assert isinstance(clips, list)
                    needed.update(clips)
    assert needed - on_disk == set()


def test_the_clip_set_matches_the_generator() -> None:
    """What is committed is what make_voice.py makes: nothing missing, nothing stale."""
    assert set(clip_names()) == set(words_for([]))
    assert set(COMMON_WORDS) <= set(clip_names())
    assert set(PRONUNCIATION) <= set(clip_names())


def test_clips_are_small_mp3_files() -> None:
    """Small MP3s (every browser plays them); the whole set with the chime stays well under 1.5 MB."""
    files = [*VOICE.glob("*.mp3"), STATIC / "chime.mp3", STATIC / "silence.mp3"]
    assert all(_is_mp3(f) for f in files)
    assert all(f.stat().st_size < 25_000 for f in files)
    assert sum(f.stat().st_size for f in files) < 500_000
    assert [p.name for p in VOICE.iterdir() if p.suffix != ".mp3"] == []


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs espeak-ng and sox")
def test_make_voice_is_reproducible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regenerating gives the same bytes as the committed files (no churn in git)."""
    import display_board.make_voice as mv

    monkeypatch.setattr(mv, "STATIC", tmp_path)
    monkeypatch.setattr(mv, "VOICE", tmp_path / "voice")
    assert main([]) == 0
    for name in ("dua", "belas", "loket", "a"):
        assert (tmp_path / "voice" / f"{name}.mp3").read_bytes() == (VOICE / f"{name}.mp3").read_bytes()
    assert (tmp_path / "chime.mp3").read_bytes() == (STATIC / "chime.mp3").read_bytes()
