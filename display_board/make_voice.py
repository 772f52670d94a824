"""Regenerate the board's voice clips and chime with espeak-ng and sox (both must be on PATH).

    python -m display_board.make_voice                     # the demo facility + common words
    python -m display_board.make_voice --facility my.toml  # add the words of your counters

One clip per word (``static/voice/<word>.mp3``): the call phrase, every letter name, every number
word, the words of the facility's counter names and of common puskesmas room names. Each clip is
spoken by espeak-ng (voice ``id``), then sox cuts the silence at both ends, fades the edges
(no clicks), normalises the peak and writes 22.05 kHz mono MP3 at 32 kbit/s: about 2-4 kB a word.
MP3 because every browser a TV stick may run plays it, and because its bytes come out the same on
every run (Ogg streams carry a random serial number), so regenerating does not churn git.
The two-tone chime (``static/chime.mp3``) and a short silence used to probe the autoplay policy
(``static/silence.mp3``) are synthesised by sox alone.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from display_board.announce import vocabulary
from queue_engine.config import demo_path, load_facility

STATIC = Path(__file__).resolve().parent / "static"
VOICE = STATIC / "voice"

#: Words often found in counter and room names at puskesmas, so most facilities need no regeneration.
COMMON_WORDS = [
    *("loket", "pendaftaran", "ruang", "poli", "meja", "bilik", "umum", "gigi", "anak", "ibu", "lansia"),
    *("imunisasi", "tindakan", "periksa", "pemeriksaan", "gizi", "konseling", "laboratorium", "lab"),
    *("apotek", "farmasi", "kasir", "obat", "racikan", "layanan", "gawat", "darurat", "persalinan"),
    *("kesehatan", "jiwa", "mata", "tulang", "kulit", "rujukan", "pengambilan", "sampel"),
]

#: espeak-ng input where its Indonesian spelling rules miss the common pronunciation ([[…]] = phonemes):
#: e taling in "loket", "apotek", "es", "kesehatan"; e pepet in "belas", "enam", "empat", "konseling"…
PRONUNCIATION: dict[str, str] = {
    "loket": "[[l'okEt]]",
    "apotek": "[[ap'otEk]]",
    "belas": "[[b@l'as]]",
    "sebelas": "[[s@b@l'as]]",
    "enam": "[[@n'am]]",
    "empat": "[[@mp'at]]",
    "es": "[['Es]]",
    "pemeriksaan": "[[p@m@R2iks'a_an]]",
    "kesehatan": "[[k@seh'atan]]",
    "konseling": "[[kons@l'iN]]",
}

#: 22.05 kHz mono, 32 kbit/s MP3
ENCODE = ["-r", "22050", "-c", "1", "-C", "32"]
#: trim silence at both ends, fade out 30 ms and in 5 ms, peak at -1 dBFS, 40 ms of tail
CLEAN = ["highpass", "70", "silence", "1", "0.01", "-45d", "reverse", "silence", "1", "0.01", "-45d"]
CLEAN += ["fade", "q", "0.03", "reverse", "fade", "q", "0.005", "norm", "-1", "pad", "0", "0.04"]


def _run(args: Sequence[str]) -> None:
    subprocess.run(args, check=True, capture_output=True)


def make_clip(word: str, out: Path, tmp: Path, *, voice: str, speed: int, pitch: int) -> None:
    """Speak ``word`` into ``out`` (MP3)."""
    raw = tmp / f"{word}.wav"
    text = PRONUNCIATION.get(word, word)
    _run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(raw), text])
    _run(["sox", str(raw), *ENCODE, str(out), *CLEAN])


def make_chime(out: Path, tmp: Path) -> None:
    """A soft two-tone "ding-dong" (E5 then C5, a falling major third) with a bell-like decay."""
    parts = []
    for name, freq, delay in (("ding", 659.25, 0.0), ("dong", 523.25, 0.55)):
        # partials: (multiple of the fundamental, gain, seconds to fade out): a struck bar rings longest low
        for k, (mult, gain, ring) in enumerate(((1.0, 1.0, 4.0), (2.0, 0.25, 2.0), (3.0, 0.06, 1.0))):
            part = tmp / f"{name}{k}.wav"
            synth = ["synth", f"{ring}", "sine", f"{freq * mult:.2f}"]
            fade = ["fade", "l", "0.008", f"{ring}", f"{ring - 0.008:.3f}"]  # log fade = exponential decay
            _run(["sox", "-n", "-r", "22050", "-c", "1", str(part), *synth, *fade, "vol", f"{gain}", "pad", f"{delay}"])
            parts.append(str(part))
    mixed = tmp / "chime.wav"
    _run(["sox", "-m", *parts, str(mixed), "trim", "0", "2.1", "reverb", "15", "50", "50", "trim", "0", "2.1"])
    _run(["sox", str(mixed), *ENCODE, str(out), "fade", "q", "0", "2.1", "0.6", "norm", "-3"])


def make_silence(out: Path) -> None:
    """0.1 s of silence: played at start-up to learn whether the browser lets the page make sound."""
    _run(["sox", "-n", *ENCODE, str(out), "trim", "0", "0.1"])


def words_for(facility_paths: Iterable[str]) -> list[str]:
    """The clip set: the demo facility's and the given facilities' counters, plus common words."""
    names = [c.name for c in load_facility(demo_path()).counters.values()]
    for path in facility_paths:
        names += [c.name for c in load_facility(path).counters.values()]
    words = vocabulary([*names, *COMMON_WORDS])
    bad = sorted(w for w in words if not re.fullmatch(r"[a-z]+", w))
    if bad:
        raise SystemExit(f"words that cannot be clip file names: {bad}")
    return sorted(words)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facility", action="append", default=[], help="a facility TOML whose counters to add")
    parser.add_argument("--voice", default="id", help="espeak-ng voice (default: id)")
    parser.add_argument("--speed", type=int, default=140, help="words per minute (default: 140)")
    parser.add_argument("--pitch", type=int, default=50, help="0-99 (default: 50)")
    parser.add_argument("--keep", action="store_true", help="keep clips no longer in the word list")
    args = parser.parse_args(argv)
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (apt-get install espeak-ng sox libsox-fmt-mp3)", file=sys.stderr)
            return 1
    words = words_for(args.facility)
    VOICE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for word in words:
            make_clip(word, VOICE / f"{word}.mp3", tmp, voice=args.voice, speed=args.speed, pitch=args.pitch)
        make_chime(STATIC / "chime.mp3", tmp)
    make_silence(STATIC / "silence.mp3")
    if not args.keep:
        for old in VOICE.glob("*.mp3"):
            if old.stem not in words:
                old.unlink()
    total = sum(p.stat().st_size for p in VOICE.glob("*.mp3"))
    print(f"{len(words)} clips, {total / 1024:.0f} kB in {VOICE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
