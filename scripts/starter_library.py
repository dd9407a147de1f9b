#!/usr/bin/env python3
"""Build the starter library: a few hundred real Foley recordings, ready to place.

    python3 scripts/starter_library.py --sfx data/sfx --set data/set --out assets/library

--sfx is the folder `scripts/fetch_sfx.sh` fills (DEST/<package>/..., with each package's
LICENSE and copyright files); --set is the sound set `avsync dataset` wrote from it, whose
sounds.json gives the captions and splits (without it they are derived from the paths by the
same rules). Only training-split recordings are used: the validation split is what generated
sound is measured against, so it must stay unheard.

Steps: keyword rules over caption and path sort the recordings into Foley categories and
kinds (gravel footsteps, dogs, trains...); within a kind, freer licences, captions and folders
not yet taken come first; near-identical recordings and more than six files of one caption
are skipped. Each chosen file is trimmed of silence, cut, level-matched and encoded as Ogg
Vorbis with the ffmpeg CLI. The output folder is replaced as a whole, only once every file is
written. Python standard library only, plus ffmpeg and ffprobe.
"""

from __future__ import annotations

import argparse
import array
import json
import math
import re
import shutil
import subprocess
import sys
import textwrap
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

RATE = 44100
AUDIO_EXTENSIONS = ("wav", "ogg", "flac", "mp3", "opus", "aif", "aiff", "m4a")

# Processing rules (documented in the library's README).
SILENCE_DB = -50.0  # trim leading/trailing audio this far below the peak
ONE_SHOT_MAX_S = 8.0
BED_MAX_S = 12.0
FADE_S = 0.02  # fade-out where a recording is cut
PEAK_DBFS = -3.0  # one-shots are peak-normalised here; nothing is ever louder
BED_LUFS = -23.0  # beds (ambiences, loops) are loudness-normalised here
MIN_SECONDS = 0.15
MIN_SOURCE_RATE = 22050  # 11 kHz game sounds are too dull for a Foley library
MAX_SOURCE_S = 300.0  # longer files are field recordings or music (as `avsync dataset` rules)
VORBIS_QUALITY = "3"

# Selection rules.
CATEGORY_CAP = 40
CAPTION_CAP = 6
DUPLICATE_DURATION = 0.02
DUPLICATE_CORRELATION = 0.98
DUPLICATE_BRIGHTNESS = 0.10
VALIDATION_FRACTION = 0.1

# ---------------------------------------------------------------------------------------
# Categories. The rules run in this order and the first that matches decides, so the more
# specific uses come first (a water footstep is a footstep, a sword hit a weapon). Each
# category lists its kinds; a recording's kind is the first kind with a word in the caption
# or path (plural "s" ignored). Selection takes kinds in turn so that, say, footsteps cover
# several surfaces rather than forty gravel steps.
# ---------------------------------------------------------------------------------------


def kinds(**table: str) -> list[tuple[str, set[str]]]:
    return [(name, set(keywords.split())) for name, keywords in table.items()]


WATER_WORDS = (
    "water liquid river stream creek brook waterfall fountain waterfontain flow rapid rain "
    "drizzle downpour raindrop sea ocean wave wavecrash waverocky surf shore tide splash "
    "splashin splashout splosh plop dive diving swim swimming wade drip cavedrip waterdrop "
    "droplet bubble gurgle pour boiling boil underwater puddle"
)


@dataclass
class Rule:
    category: str
    kinds: list[tuple[str, set[str]]]
    # the rule applies only if one of these words is present (default: any kind word)
    trigger: set[str] = field(default_factory=set)
    # ... and none of these
    unless: set[str] = field(default_factory=set)
    # a rule with a kind of last resort takes matches that name no kind
    fallback: str | None = None


WEAPON_WORDS = (
    "gun rifle pistol shotgun machinegun smg musket blunderbuss bullet gunshot shot shoot "
    "ricochet reload vulcan minigun sword swordhit blade dagger knife mace spear pike javelin "
    "jav swing clash melee arrow arrowfly bow crossbow quiver sling explosion explode "
    "exploding explosive blast bomb grenade dynamite detonation cannon artillery mortar "
    "catapult ballista trebuchet siege rocket missile torpedo weapon"
)

RULES = [
    Rule(
        "footsteps",
        kinds(
            hooves="horse horseman hoof hooves gallop mounted mstep cavalry",
            gravel="gravel",
            grass="grass leaves leaf foliage",
            snow="snow ice",
            water="water puddle wade splash wet",
            metal="metal metallic grate steel iron catwalk",
            wood="wood wooden plank",
            stone="stone rock concrete tile brick cobble marble linoleum hard",
            sand="sand dirt earth soil mud ground",
            carpet="carpet soft",
        ),
        trigger=set("footstep footsteps step steps stepping walk walking stomp fs mstep".split()),
        fallback="other",
    ),
    # Water beds and water-named ambiences are water; other ambiences are ambience.
    Rule(
        "water",
        kinds(
            splash="splash splashin splashout splosh plop dive diving swim swimming wade",
            drips="drip cavedrip waterdrop droplet bubble gurgle pour boiling boil underwater",
            rain="rain drizzle downpour raindrop",
            sea="sea ocean wave wavecrash waverocky surf shore tide",
            river="river stream creek brook waterfall fountain waterfontain flow rapid",
        ),
        # sea lions and fire are not water
        unless=set(WEAPON_WORDS.split()) | set("fire flame lava animal mammal aquatic".split()),
        fallback="other",
        trigger=set(WATER_WORDS.split()),
    ),
    Rule(
        "doors",
        kinds(
            gate="gate portcullis drawbridge stonegate",
            creak="creak hinge hingecreak squeak",
            lock="lock unlock latch key",
            chest="chest lid drawer",
            door="door doors dooropen doorclose",
        ),
        unless=set("creature".split()),
    ),
    Rule(
        "weapons",
        kinds(
            explosions="explosion explode exploding explosive blast bomb grenade dynamite "
            "detonation",
            guns="gun rifle pistol shotgun machinegun smg musket blunderbuss bullet gunshot "
            "shot ricochet reload vulcan minigun",
            bows="arrow arrowfly bow crossbow quiver sling",
            swords="sword swordhit blade dagger knife mace swing clash melee",
            spears="spear pike javelin jav",
            artillery="cannon artillery mortar catapult ballista trebuchet siege rocket "
            "missile torpedo",
        ),
        unless=set("chop lumber lumbering woodcut tree construction".split()),
        fallback="other",
        trigger=set(WEAPON_WORDS.split()),
    ),
    Rule(
        "vehicles",
        kinds(
            rail="train tram locomotive rail railway metro monorail maglev subway",
            air="aircraft airplane plane jet helicopter propeller airship ornithopter "
            "zeppelin glider",
            ships="ship warship boat ferry hovercraft sail sailing hydrofoil oar rowing "
            "submarine trireme",
            road="car cars truck lorry bus traffic motorbike motorcycle tractor van jeep taxi "
            "horn tank",
            carts="cart wagon carriage wheel wheels wheelsturn",
            engines="engine vehicle diesel",
        ),
        # the engines of buildings are machines
        unless=set("structure structures".split()),
    ),
    Rule(
        "animals",
        kinds(
            birds="bird birds chicken hen rooster chick owl crow raven seagull gull duck goose "
            "geese peacock flamingo parrot pigeon dove eagle hawk falcon vulture songbird "
            "sparrow cuckoo turkey penguin birdsloop",
            dogs_wolves="dog bark puppy wolf wolves howl fox coyote hound jackal hyena",
            horses="horse pony donkey mule zebra neigh whinny",
            farm="cattle cow bull ox sheep lamb ram goat pig boar sow moo bison buffalo",
            insects_frogs="insect cricket cicada cycadas bee beehive hornet mosquito "
            "mosquitobuzz grasshopper frog toad",
            wild="elephant lion tiger bear deer camel dromedary monkey chimp gorilla whale "
            "dolphin seal walrus rhino hippo giraffe crocodile snake cat kitten mouse rat "
            "squirrel rabbit beaver badger koala wombat orca iguana ferret",
        ),
    ),
    Rule(
        "fire",
        kinds(
            burning="fire flame burn burning burnfire blaze crackle crackling campfire bonfire "
            "fireplace inferno smallfire firesoft furnace",
            ignition="ignite ignition inflame torch match fuse fuseloop fuseshort extinguish "
            "sizzle smokesizzle",
        ),
        unless=set(WEAPON_WORDS.split()),
    ),
    Rule(
        "machines",
        kinds(
            saws="saw saws sawing sawmill sawmillripcut ripcut chainsaw",
            hammering="hammer hammering anvil forge smith blacksmith mallet chisel",
            mills="mill windmill watermill grind grinder millstone pumpjack pump minepump",
            motors="motor generator compressor fan fanloop drill drilling turbine elevator "
            "lift conveyor crane winch vacuum washing",
            mechanisms="machine machinery mechanical mechanism gear gears clockwork cog "
            "ratchet lever piston steam steamengine hydraulic pneumatic",
            work="construction dig digging shovel pickaxe mine mining chop "
            "lumber lumbering woodcut hoe scissors",
        ),
    ),
    Rule(
        "impacts",
        kinds(
            glass="glass bottle window shatter glassshatter glasshit glassbreak breakglass "
            "crystal ceramic plate",
            metal="metal metallic steel iron clang clank clanghard tin can bucket buckethit "
            "pan pot armor armour breakmetal lightmetalhit dullmetalhit metalhit",
            wood="wood wooden plank crate barrel box breakwood woodhit dullwoodhit",
            stone="stone rock rocks rockfall rockhit boulder brick concrete rubble debris "
            "earthquake",
            soft="flesh fleshimp fleshstab body organic organichit soft softhit thud dirt ground "
            "earth mud",
        ),
        trigger=set(
            "impact hit hits bang knock knocking thud thump crash smash break breaking broken "
            "shatter collide collision bump drop fall falling land landing clang clank clink "
            "crack crunch slam rockfall debris collapse destruction destroy punch slap "
            "rattle scrape bounce rockhit woodhit metalhit glasshit softhit generalhit "
            "buckethit icehit breakwood breakglass breakmetal dullmetalhit dullwoodhit "
            "lightmetalhit organichit clanghard glassshatter glassbreak".split()
        ),
        fallback="other",
    ),
    Rule(
        "cloth",
        kinds(
            cloth="cloth clothes clothing fabric flag tent canvas flap rope",
            leather_armour="leather armor armour chainmail",
            rustle="rustle rustling rustleland leaves leaf foliage bush brush hay straw grass "
            "field",
            paper_bags="paper bag sack book page",
            whoosh="whoosh swish swoosh woosh",
        ),
    ),
    Rule(
        "ambience",
        kinds(
            weather="wind windstorm windgust windleaves gust storm thunder snowstorm "
            "blizzard arcticwind blowwind hollowwind wastewind",
            nature="forest jungle swamp night nightime nightcrickets day dayscape temperate "
            "tropical meadow country countryside desert sunny desertday",
            urban="city town crowd market village harbour harbor port trade street farm",
            interior="cave room hum drone droning factory hall tunnel vapour lava lavarumble",
        ),
        trigger=set(
            "ambience ambient atmosphere atmo atmos atm soundscape dayscape tileset tilesets "
            "wind windstorm windgust windleaves gust storm thunder snowstorm blizzard forest "
            "jungle swamp night nightime day sunny crowd city town market village harbour "
            "harbor cave arcticwind blowwind hollowwind wastewind desertday".split()
        ),
    ),
]
CATEGORIES = [r.category for r in RULES]
# Kinds that hold continuous sound: cut at the bed length and loudness-normalised.
BED_KINDS = {
    ("water", "rain"),
    ("water", "sea"),
    ("water", "river"),
    ("fire", "burning"),
    ("machines", "motors"),
    ("machines", "mills"),
}
BED_WORDS = set("loop fanloop fuseloop birdsloop ambience ambient atmo atmos atm amb idle".split())

# Path words that keep a recording out whatever else it says: voices and vocal effects,
# music, interface sounds, and the synthetic sounds of science fiction and magic (the
# library is of real-world Foley).
EXCLUDED = set(
    """
    voice voices vocal speech say shout yell scream screams laugh laughter pain grunt groan
    moan breath breathing cough sneeze burp giggle cry crying sob gasp talk chat sing singing
    taunt announcer coms confirm decline doubt shock human male female man woman child children
    civilian civilians soldier soldiers femaledeath maledeath femalehurt malehurt jump
    music song tune tunes melody instrument drum drums drumkit guitar piano violin cello bassoon
    trumpet flute harp organ cymbal fanfare anthem victory defeat sting stinger jingle disco
    ui gui hud interface menu click clicks button buttons beep blip bleep notify notification
    message alert alarm cursor hover cash uncash coin coins money pickup powerup bonus levelup
    achievement win lose gameover countdown tick timer select popup roundstart lobbyprivmsg
    error cleared nextwave ding respawn itemspawn itemuse regenerate critical damage
    laser plasma blaster ion photon proton electron particle teleport teleportin teleportout
    warp hyperdrive portal magic spell mana heal healing potion beam zap zapper energy alien
    aliens alienatmo alienwind ufo robot robotic cyber android scifi phaser disruptor railgun
    nailgun bfg lightning electro electric electrical breakelectric jumppad morph wormhole
    monster monsters dragon drake troll orc goblin undead ghost zombie skeleton demon daemon
    genie golem gryphon griffin wyvern elemental wraith lich necromancer mummy behemoth
    fireball summon summoner mage battlemage archmage magician shaman fakir thunderbird carpet
    valkyrie wicker initiate hell spider bloodspider bloodspiderwalk ortnok shevaar taman
    hovernet mooq puka wipf chippie lavacore geoscape nexball onslaught ctf kh porto powers
    toyland tv static roadsigns switch wakawaka dizzywind horror space intro flamer bzap bzzt
    slime dreydl hanukkah splat ornithopter orni battle bodyimpact enemies antlion airship
    signals
    """.split()
)
EXCLUDED_PREFIXES = ("alien",)
# Words of dying and pain: animal calls, but from people or units a cry.
VOCAL = set("die death dying dead hurt".split())
# Folders (and file-name beginnings) of science-fiction games' weapons, which are synthetic,
# and of other sounds that are not what their words say; of Endless Sky (a space game) only
# the explosions are used.
EXCLUDED_FOLDERS = (
    "redeclipse-data/games/redeclipse/data/sounds/weapons/",
    "nexuiz-data/sound/weapons/",
    "nexuiz-data/sound/misc/armor",  # armour pick-ups
    "lugaru-data/games/lugaru/Sounds/Rabbit",  # Lugaru's rabbits are its fighters: voices
)
ONLY_WORDS = {"endless-sky-data": {"explosion"}}

LICENCE_RANK = [
    ("CC0", 0),
    ("public", 0),
    ("CC-BY-SA", 2),
    ("CC-BY", 1),
    ("GPL", 3),
]

UPSTREAM = {
    "0ad-data": "0 A.D. (Wildfire Games)",
    "megaglest-data": "MegaGlest",
    "wesnoth-1.16-data": "The Battle for Wesnoth",
    "tuxpaint-stamps-default": "Tux Paint stamps",
    "ufoai-sound": "UFO: Alien Invasion",
    "openttd-opensfx": "OpenTTD OpenSFX",
    "scorched3d-data": "Scorched 3D",
    "lincity-ng-data": "LinCity-NG",
    "openclonk-data": "OpenClonk",
    "openarena-data": "OpenArena",
    "btanks-data": "Battle Tanks",
    "ardentryst": "Ardentryst",
    "extremetuxracer-data": "Extreme Tux Racer",
    "lugaru-data": "Lugaru",
    "nexuiz-data": "Nexuiz",
    "endless-sky-data": "Endless Sky",
    "flare-game": "Flare",
    "widelands-data": "Widelands",
    "warmux-data": "Warmux",
    "redeclipse-data": "Red Eclipse",
}

LICENCE_URLS = {
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "CC-BY-3.0": "https://creativecommons.org/licenses/by/3.0/",
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-3.0": "https://creativecommons.org/licenses/by-sa/3.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "GPL-2": "https://www.gnu.org/licenses/old-licenses/gpl-2.0.html",
    "GPL-2+": "https://www.gnu.org/licenses/old-licenses/gpl-2.0.html",
    "GPL-3+": "https://www.gnu.org/licenses/gpl-3.0.html",
}

# ---------------------------------------------------------------------------------------
# Captions and splits, as `avsync dataset` makes them (engine/src/train/captions.rs and
# dataset.rs); used only when no sound set is given.
# ---------------------------------------------------------------------------------------

CAPTION_PLUMBING = set(
    """
    usr share games game data core public audio sound sounds sfx fx effects effect snd wav ogg
    flac mp3 default stamps common misc mods mod the of and a an to in on for with no megaglest
    wesnoth tuxpaint 0ad ad lib assets res resources new old alt var version final mono stereo
    loop short long big small med sm lg tech techs faction factions units unit actor actors
    global generic interface ui sample samples take sounds16 megapack commondata seasonal
    symbols singlesteps ufoai openttd opensfx scorched globalmods apoc none lincity ng
    openclonk clonk openarena btanks ardentryst nyx pyr etr extremetuxracer lugaru nexuiz
    flare fantasycore empyrean campaign soundfx widelands warmux redeclipse endless sky morph
    maps world player other
    """.split()
)
CAPTION_SPELLED = {
    "fs": "footsteps", "swordhit": "sword hit", "amb": "ambience", "exp": "explosion",
    "pkup": "pickup", "strt": "start", "ugv": "ground vehicle", "trafic": "traffic",
    "croud": "crowd", "con": "construction", "jav": "javelin", "ele": "elephant",
    "watr": "water", "ric": "ricochet", "ricoche": "ricochet", "kam": "kamikaze",
}
CAPTION_EXCLUDED = set(
    """
    voice voices speech dialog dialogue vo narration narrator music song songs theme themes
    soundtrack score tracks ambient_music menu cutscene attention acknowledge acknowledgement
    select selected order orders yes ok speak talk taunt tutorial announcer hurt_voice chant
    sing singing choir alarm ack alphabets alphabet letters math tunes jingle jingles fanfare
    anthem victory radiomessage newswav voi npc npcs coms confirm decline doubt coverme letsgo
    needhelp flagseen hooah teamshoot waypoint
    """.split()
)
CAPTION_LANGUAGES = set(
    """
    desc en fr ru ro ca bg es be el da gb lt nl tw sv pt nn nb ko ja de sl it ml zh pl cs fi hu
    tr uk he ar br eu gl id ms th vi hr sk sr et lv
    """.split()
)


def words(component: str) -> list[str]:
    """Words of a path component: split on separators, camelCase and digits, lowercased."""
    out, cur, prev_lower = [], "", False
    for ch in component:
        if not ch.isalpha():
            if cur:
                out.append(cur)
                cur = ""
            prev_lower = False
            continue
        if ch.isupper() and prev_lower and cur:
            out.append(cur)
            cur = ""
        prev_lower = ch.islower()
        cur += ch.lower()
    if cur:
        out.append(cur)
    return out


def caption_from_path(relative: str) -> str | None:
    """The caption `avsync dataset` gives `relative`, or None where it skips the file."""
    stem = relative.rsplit(".", 1)[0]
    while "." in stem and stem.rsplit(".", 1)[1].lower() in AUDIO_EXTENSIONS:
        stem = stem.rsplit(".", 1)[0]
    components = [c for c in re.split(r"[/\\]", stem) if c]
    parts = components[-1].lower().split("_") if components else []
    if len(parts) >= 2 and (
        parts[-1] in CAPTION_LANGUAGES
        or (parts[-2] in CAPTION_LANGUAGES and len(parts[-1]) == 2)
    ):
        return None
    found: list[str] = []
    for c in reversed(components):
        if c.lower() in CAPTION_EXCLUDED:
            return None
        for w in words(c):
            if w in CAPTION_EXCLUDED:
                return None
            found.append(w)
    kept: list[str] = []
    for w in (s for w in found for s in CAPTION_SPELLED.get(w, w).split()):
        if len(w) >= 2 and w not in CAPTION_PLUMBING and w not in kept:
            kept.append(w)
    return " ".join(kept[:8]) or None


def path_hash(s: str) -> int:
    h = 0xCBF29CE484222325
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def is_validation(relative: str) -> bool:
    return (path_hash(relative) % 10_000) / 10_000 < VALIDATION_FRACTION


# ---------------------------------------------------------------------------------------
# Licences. Each package's LICENSE line names its main licence; where its copyright file
# (machine-readable debian/copyright) or OpenClonk's authors.txt names a file's own licence,
# that is the recording's licence.
# ---------------------------------------------------------------------------------------


def normalise_licence(text: str) -> str:
    text = text.split(" (")[0].strip()
    t = text.lower().replace("_", "-")
    if t in ("public-domain", "public domain", "fischkopf-public-domain"):
        return "public-domain"
    if t.startswith("cc0"):
        return "CC0-1.0"
    m = re.match(r"cc-by(-sa)?-(\d)(?:\.(\d))?(\+|-au)?", t)
    if m:
        return f"CC-BY{'-SA' if m[1] else ''}-{m[2]}.{m[3] or '0'}"
    m = re.match(r"gpl-(\d)(?:\.0)?(\+)?", t)
    if m and text.startswith("GPL") and "exception" not in t:
        return f"GPL-{m[1]}{m[2] or ''}"
    return text


def licence_rank(licence: str) -> int:
    for prefix, rank in LICENCE_RANK:
        if licence.lower().startswith(prefix.lower()):
            return rank
    return 4


def dep5_stanzas(copyright_file: Path) -> list[tuple[list[str], str]]:
    """(patterns, licence) of each Files stanza of a machine-readable copyright file."""
    text = copyright_file.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("Format:"):
        return []
    stanzas = []
    for block in re.split(r"\n\s*\n", text):
        m = re.search(r"^Files:(.*(?:\n[ \t].*)*)", block, re.M)
        lic = re.search(r"^License:[ \t]*(\S.*)$", block, re.M)
        if not m or not lic:
            continue
        lines = [l.strip() for l in m[1].split("\n") if l.strip()]
        # Files is whitespace-separated, but some packages list names with spaces one per
        # line: try both readings.
        patterns = [p for l in lines for p in l.split()] + [l for l in lines if " " in l]
        stanzas.append((patterns, lic[1].strip()))
    return stanzas


def dep5_licence(stanzas: list[tuple[list[str], str]], path: str) -> str | None:
    """The licence of the last stanza, other than `Files: *`, that names `path`. Copyright
    files name source-tree paths and the package installs them under another prefix, so a
    pattern matches any tail of the path, and a plain file name also the other way round."""
    parts = path.split("/")
    tails = ["/".join(parts[i:]) for i in range(len(parts))]
    found = None
    for patterns, lic in stanzas:
        for p in patterns:
            if p == "*":
                continue
            wild = any(c in p for c in "*?")
            if any(fnmatchcase(t, p) for t in tails) or (
                not wild and p.count("/") >= 2 and p.endswith("/" + "/".join(parts[-3:]))
            ):
                found = lic
    return found


def openclonk_cc0(package_dir: Path) -> set[str]:
    """Files that OpenClonk's authors.txt lists under its CC0 section. Entries read
    `author - Folder/Name, Name1-3, Prefix* (source url)`; a component naming an existing
    folder constrains the folder, other components are alternative names."""
    authors = package_dir / "authors.txt"
    if not authors.exists():
        return set()
    text = authors.read_text(encoding="utf-8", errors="replace")
    head = re.search(r"^.*CC 0 license.*$", text, re.M)
    if not head:
        return set()
    files = [
        p.relative_to(package_dir)
        for p in package_dir.rglob("*")
        if p.suffix.lower().lstrip(".") in AUDIO_EXTENSIONS
    ]
    folders = {part.lower() for f in files for part in f.parts[:-1]}
    key = lambda s: re.sub(r"[^a-z0-9*\-]", "", s.lower())
    chosen = set()
    for line in text[head.end():].splitlines():
        body = re.split(r"\s-\s|\t+-\s*", line, maxsplit=1)
        if len(body) < 2:
            continue
        entry = re.sub(r"\([^)]*\)?", "", body[1])
        for item in entry.split(","):
            comps = [c.strip() for c in item.split("/") if c.strip()]
            folder = [c.lower() for c in comps if c.lower() in folders]
            names = [key(c) for c in comps if c.lower() not in folders]
            for n in names:
                m = re.fullmatch(r"([a-z]+)(\d+)-(\d+)", n)
                stems = {f"{m[1]}{i}" for i in range(int(m[2]), int(m[3]) + 1)} if m else {n}
                hits = [
                    f
                    for f in files
                    if all(d in (p.lower() for p in f.parts[:-1]) for d in folder)
                    and (key(f.stem) in stems or (n.endswith("*") and key(f.stem).startswith(n[:-1])))
                ]
                # A name found in several folders may be another author's file: the safe
                # reading is the package's stricter licence.
                if len({f.parent for f in hits}) == 1:
                    chosen.update(f.as_posix() for f in hits)
    return chosen


class Licences:
    def __init__(self, sfx: Path):
        self.sfx = sfx
        self.cache: dict[str, tuple[str, list, set[str]]] = {}

    def package(self, package: str) -> tuple[str, list, set[str]]:
        if package not in self.cache:
            d = self.sfx / package
            text = (d / "LICENSE").read_text() if (d / "LICENSE").exists() else ""
            main = next(
                (l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("licence:")),
                "unknown",
            )
            stanzas = dep5_stanzas(d / "copyright") if (d / "copyright").exists() else []
            self.cache[package] = (main, stanzas, openclonk_cc0(d))
        return self.cache[package]

    def of(self, package: str, path: str) -> str:
        main, stanzas, cc0 = self.package(package)
        if path in cc0:
            return "CC0-1.0"
        return normalise_licence(dep5_licence(stanzas, path) or main)


# ---------------------------------------------------------------------------------------
# Candidates
# ---------------------------------------------------------------------------------------


@dataclass
class Candidate:
    package: str
    path: str  # inside the package folder
    caption: str
    licence: str
    category: str = ""
    kind: str = ""
    bed: bool = False

    @property
    def source(self) -> str:
        return f"{self.package}/{self.path}"


def singular(w: str) -> str:
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def tokens(c: Candidate) -> set[str]:
    raw = c.caption.split() + [w for part in c.path.split("/") for w in words(part)]
    return {t for w in raw for t in (w, singular(w))}


def classify(c: Candidate) -> bool:
    """Set the candidate's category and kind by the first rule that matches; False if none
    does or a path word excludes it."""
    toks = tokens(c)
    if (
        toks & EXCLUDED
        or any(t.startswith(EXCLUDED_PREFIXES) for t in toks)
        or c.source.startswith(EXCLUDED_FOLDERS)
        or (c.package in ONLY_WORDS and not toks & ONLY_WORDS[c.package])
    ):
        return False
    for rule in RULES:
        if toks & rule.unless or (rule.trigger and not toks & rule.trigger):
            continue
        if toks & VOCAL and rule.category != "animals":
            continue
        kind = next((name for name, kw in rule.kinds if toks & kw), rule.fallback)
        if kind is None:
            continue
        c.category, c.kind = rule.category, kind
        c.bed = (
            rule.category == "ambience"
            or (rule.category, kind) in BED_KINDS
            or bool(toks & BED_WORDS)
        )
        return True
    return False


def load_candidates(sfx: Path, set_dir: Path | None, licences: Licences) -> list[Candidate]:
    index = set_dir / "sounds.json" if set_dir else None
    seen, out = set(), []
    if index and index.exists():
        print(f"captions and splits from {index}")
        sounds = json.loads(index.read_text())["sounds"]
        rows = [(s["source"].split("#")[0], s["caption"], s["split"]) for s in sounds]
    else:
        print("no sounds.json: captions and splits derived from the paths")
        rows = []
        for p in sorted(sfx.rglob("*")):
            if p.is_file() and p.suffix.lower().lstrip(".") in AUDIO_EXTENSIONS:
                rel = p.relative_to(sfx).as_posix()
                caption = caption_from_path(rel)
                if caption:
                    rows.append((rel, caption, "validation" if is_validation(rel) else "train"))
    for rel, caption, split in rows:
        if split != "train" or rel in seen:
            continue
        seen.add(rel)
        package, path = rel.split("/", 1)
        if not (sfx / rel).is_file():
            continue
        out.append(Candidate(package, path, caption, licences.of(package, path)))
    return out


def ordered(cands: list[Candidate]) -> dict[str, list[Candidate]]:
    """Per category, the order in which recordings are tried: kinds take turns; within a
    kind, the first two files of each caption and the first three of each folder come
    first, each group by licence (freest first) and path."""
    by_kind: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for c in sorted(cands, key=lambda c: c.source):
        by_kind[(c.category, c.kind)].append(c)
    out: dict[str, list[Candidate]] = {}
    for cat in CATEGORIES:
        queues = []
        for (category, _), group in sorted(by_kind.items()):
            if category != cat:
                continue
            nth_caption: Counter = Counter()
            nth_folder: Counter = Counter()
            keyed = []
            for c in sorted(group, key=lambda c: (licence_rank(c.licence), c.source)):
                folder = c.source.rsplit("/", 1)[0]
                rank = licence_rank(c.licence)
                first = nth_caption[c.caption] < 2 and nth_folder[folder] < 3
                keyed.append(((not first, rank, nth_caption[c.caption], c.source), c))
                nth_caption[c.caption] += 1
                nth_folder[folder] += 1
            queues.append([c for _, c in sorted(keyed, key=lambda kc: kc[0])])
        # the kind of last resort goes last in each round
        queues.sort(key=lambda q: q[0].kind == "other")
        merged = []
        while any(queues):
            for q in queues:
                if q:
                    merged.append(q.pop(0))
        out[cat] = merged
    return out


# ---------------------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------------------


def run(cmd: list[str], data: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, input=data, capture_output=True, check=False)


def probe(path: Path) -> tuple[int, float]:
    """Sample rate and duration of a sound file (0, 0 if unreadable)."""
    r = run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
             "stream=sample_rate:format=duration", "-of", "default=nw=1", str(path)])
    found = dict(re.findall(r"^(\w+)=([\d.]+)$", r.stdout.decode(), re.M))
    try:
        return int(found["sample_rate"]), float(found.get("duration", 0))
    except (KeyError, ValueError):
        return 0, 0.0


def decode(path: Path, seconds: float = 60.0) -> array.array | None:
    r = run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-t", str(seconds),
             "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"])
    if r.returncode != 0 or not r.stdout:
        return None
    a = array.array("f")
    a.frombytes(r.stdout[: len(r.stdout) // 4 * 4])
    if sys.byteorder != "little":
        a.byteswap()
    return a


def trimmed(a: array.array) -> array.array:
    peak = max(map(abs, a), default=0.0)
    if peak <= 0:
        return array.array("f")
    floor = peak * 10 ** (SILENCE_DB / 20)
    start = next(i for i, x in enumerate(a) if abs(x) > floor)
    end = len(a) - next(i for i, x in enumerate(reversed(a)) if abs(x) > floor)
    return a[start:end]


@dataclass
class Fingerprint:
    seconds: float
    envelope: list[float]  # 64 points of the level in dB
    brightness: float  # mean |first difference| over mean |x|: higher for brighter sounds


def fingerprint(a: array.array) -> Fingerprint:
    frame = RATE // 100
    levels = []
    for i in range(0, max(len(a) - frame + 1, 1), frame):
        chunk = a[i:i + frame]
        rms = math.sqrt(sum(x * x for x in chunk) / max(len(chunk), 1))
        levels.append(20 * math.log10(rms + 1e-6))
    points = [levels[min(int(j * len(levels) / 64), len(levels) - 1)] for j in range(64)]
    mean_abs = sum(map(abs, a)) / len(a)
    diff = sum(abs(a[i] - a[i - 1]) for i in range(1, len(a))) / len(a)
    return Fingerprint(len(a) / RATE, points, diff / (mean_abs + 1e-9))


def correlation(x: list[float], y: list[float]) -> float:
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return 1.0 if sxx == syy else 0.0
    return sxy / math.sqrt(sxx * syy)


def near_duplicate(f: Fingerprint, g: Fingerprint) -> bool:
    return (
        abs(f.seconds - g.seconds) <= DUPLICATE_DURATION * max(f.seconds, g.seconds)
        and abs(f.brightness - g.brightness) <= DUPLICATE_BRIGHTNESS * max(f.brightness, g.brightness)
        and correlation(f.envelope, g.envelope) > DUPLICATE_CORRELATION
    )


def loudness(a: array.array) -> float | None:
    """Integrated loudness (LUFS, EBU R 128) by ffmpeg's ebur128 filter."""
    r = run(["ffmpeg", "-nostdin", "-v", "info", "-f", "f32le", "-ar", str(RATE), "-ac", "1",
             "-i", "-", "-af", "ebur128", "-f", "null", "-"], a.tobytes())
    found = re.findall(r"I:\s+(-?[\d.]+) LUFS", r.stderr.decode(errors="replace"))
    if not found or float(found[-1]) <= -69:
        return None
    return float(found[-1])


def prepare(a: array.array, bed: bool) -> array.array:
    """Cut, fade and level a trimmed recording."""
    limit = int((BED_MAX_S if bed else ONE_SHOT_MAX_S) * RATE)
    if len(a) > limit:
        a = a[:limit]
        fade = int(FADE_S * RATE)
        for i in range(fade):
            a[limit - fade + i] *= 1 - (i + 1) / fade
    peak = max(map(abs, a))
    ceiling = 10 ** (PEAK_DBFS / 20)
    gain = ceiling / peak
    if bed:
        lufs = loudness(a)
        if lufs is not None:
            gain = min(gain, 10 ** ((BED_LUFS - lufs) / 20))
    return array.array("f", (x * gain for x in a))


def encode(a: array.array, out: Path, tags: dict[str, str]) -> bool:
    meta = [x for k, v in tags.items() for x in ("-metadata", f"{k}={v}")]
    data = a.tobytes() if sys.byteorder == "little" else _swapped(a)
    r = run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "f32le", "-ar", str(RATE),
             "-ac", "1", "-i", "-", "-map_metadata", "-1", *meta, "-c:a", "libvorbis",
             "-q:a", VORBIS_QUALITY, "-fflags", "+bitexact", "-flags:a", "+bitexact",
             str(out)], data)
    if r.returncode != 0:
        print(f"  ffmpeg failed on {out.name}: {r.stderr.decode(errors='replace')[-300:]}")
    return r.returncode == 0


def _swapped(a: array.array) -> bytes:
    b = array.array("f", a)
    b.byteswap()
    return b.tobytes()


# ---------------------------------------------------------------------------------------
# Building the library
# ---------------------------------------------------------------------------------------


def slug(caption: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", caption).encode("ascii", "ignore").decode()
    return "_".join(re.findall(r"[a-z0-9]+", ascii_text.lower())) or "sound"


@dataclass
class Chosen:
    cand: Candidate
    file: str
    seconds: float
    size: int


def build(args: argparse.Namespace) -> None:
    sfx = args.sfx
    licences = Licences(sfx)
    cands = [c for c in load_candidates(sfx, args.set, licences) if classify(c)]
    queues = ordered(cands)
    print(f"{len(cands)} training recordings match a category")

    out = args.out
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    budget = int(args.max_mb * 1_000_000)

    chosen: list[Chosen] = []
    prints: list[tuple[Fingerprint, str]] = []
    per_caption: Counter = Counter()
    per_category: Counter = Counter()
    per_name: Counter = Counter()
    left_out: Counter = Counter()
    total = 0

    def consider(c: Candidate) -> str | None:
        """Add a recording to the library, or say why not ("full" once over budget)."""
        nonlocal total
        if per_caption[c.caption] >= CAPTION_CAP:
            return f"caption already taken {CAPTION_CAP} times"
        src = sfx / c.source
        rate, seconds = probe(src)
        if rate < MIN_SOURCE_RATE:
            return f"sampled below {MIN_SOURCE_RATE} Hz"
        if seconds > MAX_SOURCE_S:
            return f"longer than {MAX_SOURCE_S:.0f} s"
        audio = decode(src)
        audio = trimmed(audio) if audio is not None else None
        if audio is None or len(audio) < MIN_SECONDS * RATE:
            return f"undecodable or shorter than {MIN_SECONDS} s"
        fp = fingerprint(audio)
        twin = next((f for g, f in prints if near_duplicate(fp, g)), None)
        if twin:
            if args.verbose:
                print(f"  ({c.source} nearly duplicates {twin})")
            return "near-duplicate of a chosen recording"
        name = slug(c.caption)
        rel = f"{c.category}/{name}_{per_name[(c.category, name)] + 1}.ogg"
        dest = tmp / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        tags = {
            "title": c.caption,
            "license": c.licence,
            "organization": UPSTREAM.get(c.package, c.package),
            "source": f"Debian package {c.package}: {c.path}",
        }
        processed = prepare(audio, c.bed)
        if not encode(processed, dest, tags):
            dest.unlink(missing_ok=True)
            return "encoding failed"
        size = dest.stat().st_size
        if total + size > budget:
            dest.unlink()
            return "full"
        total += size
        prints.append((fp, rel))
        per_name[(c.category, name)] += 1
        per_caption[c.caption] += 1
        per_category[c.category] += 1
        chosen.append(Chosen(c, rel, round(len(processed) / RATE, 3), size))
        if args.verbose:
            print(f"  {rel:60} {c.licence:14} {c.source}")
        return None

    # Categories take turns, so a size budget that runs out leaves them balanced.
    full = False
    while not full and any(queues[c] and per_category[c] < args.cap for c in CATEGORIES):
        for cat in CATEGORIES:
            while not full and queues[cat] and per_category[cat] < args.cap:
                why = consider(queues[cat].pop(0))
                if why is None:
                    break  # the next category's turn
                full = why == "full"
                if not full:
                    left_out[why] += 1
    if full:
        print(f"size budget of {args.max_mb} MB reached")

    write_manifest(tmp, chosen)
    write_licences(tmp, chosen, sfx)
    write_readme(tmp, chosen, total)

    old = out.with_name(out.name + ".old.tmp")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)

    summary(chosen, left_out, out)


def write_manifest(root: Path, chosen: list[Chosen]) -> None:
    sounds = [
        {
            "file": ch.file,
            "caption": ch.cand.caption,
            "category": ch.cand.category,
            "licence": ch.cand.licence,
            "package": ch.cand.package,
            "source": ch.cand.path,
            "duration_s": ch.seconds,
        }
        for ch in sorted(chosen, key=lambda ch: ch.file)
    ]
    manifest = {"name": "AvSync starter library", "version": 1, "sounds": sounds}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def wrap(*paragraphs: str) -> str:
    return "\n\n".join(
        textwrap.fill(" ".join(p.split()), 92, break_on_hyphens=False) for p in paragraphs
    )


def project(package: str) -> str:
    """`0 A.D. (`0ad-data`, Wildfire Games)`: the upstream project and its Debian package."""
    name, _, by = UPSTREAM.get(package, package).partition(" (")
    return f"{name} (`{package}`{', ' + by.rstrip(')') if by else ''})"


def write_licences(root: Path, chosen: list[Chosen], sfx: Path) -> None:
    by_licence = Counter(ch.cand.licence for ch in chosen)
    by_package: dict[str, Counter] = defaultdict(Counter)
    for ch in chosen:
        by_package[ch.cand.package][ch.cand.licence] += 1
    # The copyright files travel with the sounds: they name the authors and licence terms.
    (root / "copyright").mkdir()
    for package in by_package:
        for name, dest in (("copyright", package), ("authors.txt", f"{package}.authors.txt")):
            if (sfx / package / name).exists():
                shutil.copyfile(sfx / package / name, root / "copyright" / dest)
    packages = sorted(by_package, key=lambda p: UPSTREAM.get(p, p).lower())

    text = ["# Licences of the starter library", ""]
    text.append(wrap(
        "Every recording keeps the licence it was published under; `manifest.json` gives each "
        "file's licence, Debian package and path inside that package. The recordings were "
        "changed: mixed to mono, resampled to 44.1 kHz, trimmed of silence, cut to length "
        "with a short fade-out, level-adjusted and encoded as Ogg Vorbis. The originals are "
        "in the named Debian packages (and their sources in the matching Debian source "
        "packages)."
    ))
    text += ["", "| licence | recordings | terms |", "|---|---:|---|"]
    for lic, n in sorted(by_licence.items(), key=lambda kv: (licence_rank(kv[0]), kv[0])):
        if lic == "public-domain":
            terms = "none"
        elif lic in LICENCE_URLS:
            terms = LICENCE_URLS[lic]
        else:
            terms = "see the package's copyright file"
        text.append(f"| {lic} | {n} | {terms} |")
    text += ["", "| project (Debian package) | recordings | licences |", "|---|---:|---|"]
    for package in packages:
        counts = ", ".join(f"{lic} {n}" for lic, n in sorted(by_package[package].items()))
        text.append(f"| {project(package)} | {sum(by_package[package].values())} | {counts} |")
    text += ["", "### Licences and attribution", ""]
    text.append(wrap("The recordings are shipped with this attribution and on these terms:"))
    text.append("")
    groups: dict[str, list[str]] = defaultdict(list)
    for package in packages:
        lics = sorted(by_package[package], key=lambda l: (licence_rank(l), l))
        groups[", ".join(lics)].append(project(package))
    for lics, projects in sorted(groups.items(), key=lambda kv: (licence_rank(kv[0]), kv[0])):
        item = textwrap.fill(
            f"- {', '.join(projects)}: {lics}", 92, subsequent_indent="  ", break_on_hyphens=False
        )
        text.append(item)
    text.append("")
    notes = [
        "The Debian copyright file of each package, copied unchanged to "
        "`copyright/<package>`, lists the individual authors and the licence texts."
    ]
    if "openclonk-data" in by_package:
        notes[0] += (
            " `copyright/openclonk-data.authors.txt` credits each OpenClonk sound to its "
            "author (most from freesound.org) and lists the CC0 ones."
        )
    notes.append(
        "A recording's licence is the one that its package's copyright file (for OpenClonk, "
        "authors.txt) gives for that file, and otherwise the package's main licence."
    )
    text += [wrap(*notes), ""]
    (root / "LICENSES.md").write_text("\n".join(text))


def write_readme(root: Path, chosen: list[Chosen], total: int) -> None:
    by_cat = Counter(ch.cand.category for ch in chosen)
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for ch in chosen:
        by_kind[ch.cand.category][ch.cand.kind] += 1
    rows = [
        f"| `{cat}/` | {by_cat[cat]} | {', '.join(k.replace('_', ' and ') for k in sorted(by_kind[cat]))} |"
        for cat in CATEGORIES
        if by_cat[cat]
    ]
    text = [
        "# AvSync starter library",
        "",
        wrap(
            f"{len(chosen)} real sound-effect recordings ({total / 1e6:.1f} MB of audio) in "
            "Foley categories, to place on the timeline as they are or to use as references "
            "for generation. Each file is named after what is heard, "
            "`<category>/<caption>_<n>.ogg`; `manifest.json` lists every file with its "
            "caption, category, licence, source package and path, and duration. "
            "`LICENSES.md` gives the licences and attribution, and `copyright/` the Debian "
            "copyright files of the source packages."
        ),
        "",
        "| folder | recordings | kinds |",
        "|---|---:|---|",
        *rows,
        "",
        "## How it was made",
        "",
        "    python3 scripts/starter_library.py --sfx data/sfx --set data/set --out assets/library",
        "",
        wrap(
            "from the sound effects of the Debian game packages that `scripts/fetch_sfx.sh "
            "data/sfx` extracts and the sound set that `avsync dataset data/sfx --out "
            "data/set` builds from them (captions from the file paths; speech and music "
            "dropped by path). Running it again rebuilds the same library and replaces this "
            "folder as a whole.",
            "**Selection.** Only recordings of the sound set's training split are used, never "
            "its validation split, which generated sound is measured against. Keyword rules "
            "over each caption and path place a recording in a category and a kind within it "
            "(the kinds are listed above). Voices and vocal effects, music, interface sounds, "
            "and science-fiction or magic sounds are left out by path words. Each category "
            f"holds at most {CATEGORY_CAP} recordings, its kinds taking turns. Within a kind, "
            "the first two recordings of each caption and the first three of each source "
            "folder come first, each group ordered by licence: public domain and CC0, then "
            f"CC BY, then CC BY-SA, then GPL. A recording is skipped when its caption is "
            f"already taken {CAPTION_CAP} times, when it was sampled below {MIN_SOURCE_RATE} "
            f"Hz, when it lasts under {MIN_SECONDS} s once trimmed, or when it nearly "
            f"duplicates one already chosen (duration within {DUPLICATE_DURATION:.0%}, "
            f"brightness within {DUPLICATE_BRIGHTNESS:.0%} and level envelopes correlated "
            f"above {DUPLICATE_CORRELATION}).",
            "**Processing** (ffmpeg): mixed to mono at 44.1 kHz; leading and trailing audio "
            f"more than {-SILENCE_DB:.0f} dB below the peak trimmed; cut to at most "
            f"{ONE_SHOT_MAX_S:.0f} s, or {BED_MAX_S:.0f} s for beds (ambiences, rain, sea, "
            f"rivers, burning fire, motors, mills and loops), with a {FADE_S * 1000:.0f} ms "
            f"fade-out where cut. Levels: one-shots are peak-normalised to {PEAK_DBFS:.0f} "
            f"dBFS; beds are normalised to {BED_LUFS:.0f} LUFS integrated loudness (EBU R "
            f"128), lowered further where that would put their peak above {PEAK_DBFS:.0f} "
            f"dBFS. Encoded as Ogg Vorbis, quality {VORBIS_QUALITY}, with the caption, licence "
            "and source in the Vorbis comments.",
            "**Licences.** A recording's licence is the one that its Debian package's copyright "
            "file (for OpenClonk, authors.txt) gives for that file, and otherwise the "
            "package's main licence; see `LICENSES.md`.",
        ),
        "",
    ]
    (root / "README.md").write_text("\n".join(text))


def summary(chosen: list[Chosen], left_out: Counter, out: Path) -> None:
    print(f"\n{len(chosen)} recordings in {out}")
    by_cat = Counter(ch.cand.category for ch in chosen)
    kinds_of: dict[str, Counter] = defaultdict(Counter)
    for ch in chosen:
        kinds_of[ch.cand.category][ch.cand.kind] += 1
    print("per category:")
    for cat in CATEGORIES:
        detail = ", ".join(f"{k} {n}" for k, n in sorted(kinds_of[cat].items()))
        print(f"  {cat:10} {by_cat[cat]:4}   ({detail})")
    print("per licence:")
    for lic, n in sorted(Counter(ch.cand.licence for ch in chosen).items(),
                         key=lambda kv: (licence_rank(kv[0]), kv[0])):
        print(f"  {lic:36} {n:4}")
    print("per package:")
    for pkg, n in Counter(ch.cand.package for ch in chosen).most_common():
        print(f"  {pkg:36} {n:4}")
    if left_out:
        print("tried and left out:")
        for why, n in left_out.most_common():
            print(f"  {why:40} {n:4}")
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"total size of {out}: {total / 1e6:.1f} MB")


def plan(args: argparse.Namespace) -> None:
    """Print how the candidates classify, without processing audio."""
    licences = Licences(args.sfx)
    cands = load_candidates(args.sfx, args.set, licences)
    kept = [c for c in cands if classify(c)]
    for cat, queue in ordered(kept).items():
        print(f"== {cat}: {len(queue)}")
        for c in queue[: args.plan]:
            print(f"  {c.kind:14} {'bed ' if c.bed else '    '}{c.licence:14} {c.caption:40} {c.source}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sfx", type=Path, default=Path("data/sfx"), help="fetched sound effects")
    p.add_argument("--set", type=Path, default=Path("data/set"), help="sound set (sounds.json)")
    p.add_argument("--out", type=Path, default=Path("assets/library"))
    p.add_argument("--cap", type=int, default=CATEGORY_CAP, help="recordings per category")
    p.add_argument("--max-mb", type=float, default=30.0, help="size budget of the library")
    p.add_argument("--plan", type=int, default=0, metavar="N",
                   help="only print the first N candidates of each category")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    for tool in ("ffmpeg", "ffprobe"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (apt-get install ffmpeg)")
    if args.plan:
        plan(args)
    else:
        build(args)


if __name__ == "__main__":
    main()
