"""MPCAT40 classes for scene objects: parsing explicit labels, guessing from names, reporting.

Guessing (:func:`guess_class`) reads the words of an object's name and looks them up in
:data:`SYNONYMS`, a table of everyday (mostly furniture) words for the MPCAT40 classes.

* **Words.** The name is lower-cased after splitting camelCase (``ArmChair`` -> ``arm chair``,
  ``TVStand`` -> ``tv stand``) and at every character that is not a letter: ``.``, ``_``, ``-``,
  spaces and digits (so Blender's ``Chair.001`` and ``sofa_2`` read ``chair`` and ``sofa``).
* **Phrases.** Runs of up to three adjacent words are also tried glued together, so
  ``Arm_Chair``, ``ArmChair`` and ``armchair`` all find the table word ``armchair``, and
  ``BedsideTable`` finds ``bedsidetable``. A word that is not in the table also matches by its
  singular (``chairs``) or, when it is one long word, by a table word it ends with
  (``officechair`` -> ``chair``; the remainder must be at least three letters and the table word
  at least four, and a few known false friends such as ``vegetable`` are excluded).
* **Which match wins.** English compounds put the kind of thing last (a *sofa table* is a
  table, a *table lamp* a lamp, a *chair leg* part of a chair), so the match that ends at the
  rightmost word wins, and of those the longest phrase (``bedside table`` over ``table``).
  Words that name parts (``leg``, ``seat``, ``top``, ``frame``, ``base``, ``back``) are not in the
  table on purpose, so ``Chair_Leg`` stays a chair and ``Sofa_Seat`` a sofa.

Decisions on ambiguous words follow the Matterport3D category mapping that defines MPCAT40:
``nightstand`` / ``bedside table`` / ``dresser`` -> chest_of_drawers (so ``BedsideTable`` is not
a table), ``ottoman`` / ``footstool`` -> stool, ``bench`` -> seating, ``rug`` / ``carpet`` /
``mat`` -> floor (people stand on them), ``desk`` / ``coffee table`` -> table,
``worktop`` / ``kitchen island`` -> counter. Blender's default names (``Cube``, ``Plane``,
``Cylinder``) say nothing about the object and stay unlabelled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ..classes import CLASS_ID, MPCAT40_NAMES, NUM_CLASSES
from .objects import MeshObject

__all__ = ["SYNONYMS", "format_report", "guess_class", "guess_classes", "parse_class",
           "tokenize"]

#: MPCAT40 class name -> words that name it (lower case, compounds written without spaces).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "wall": ("wall", "walls", "partition", "drywall", "wallpanel"),
    "floor": ("floor", "floors", "flooring", "ground", "groundplane", "rug", "carpet", "mat",
              "doormat", "terrain", "lawn", "grass", "pavement", "floorboard"),
    "chair": ("chair", "armchair", "recliner", "highchair", "rockingchair", "officechair",
              "deckchair", "throne", "beanbag"),
    "door": ("door", "doors", "doorway", "doorframe", "gate"),
    "table": ("table", "desk", "coffeetable", "diningtable", "sidetable", "endtable",
              "worktable", "tabletop", "workbench"),
    "picture": ("picture", "painting", "poster", "photo", "photograph", "artwork", "canvas",
                "pictureframe", "photoframe"),
    "cabinet": ("cabinet", "cupboard", "wardrobe", "closet", "sideboard", "locker", "armoire",
                "credenza", "vanity", "tvstand", "tvunit", "cabinetry", "filingcabinet"),
    "cushion": ("cushion", "pillow", "throwpillow", "bolster"),
    "window": ("window", "windowsill", "windowpane", "skylight"),
    "sofa": ("sofa", "couch", "settee", "loveseat", "sectional", "futon", "chaise",
             "chaiselongue", "divan", "daybed", "sofabed"),
    "bed": ("bed", "mattress", "bunkbed", "cot", "crib", "headboard", "doublebed", "singlebed"),
    "curtain": ("curtain", "drape", "drapes", "drapery"),
    "chest_of_drawers": ("dresser", "drawers", "chestofdrawers", "chest", "nightstand",
                         "bedsidetable", "nighttable"),
    "plant": ("plant", "houseplant", "pottedplant", "flower", "flowers", "tree", "bush",
              "fern", "cactus", "shrub"),
    "sink": ("sink", "basin", "washbasin"),
    "stairs": ("stairs", "stair", "staircase", "stairway", "steps", "step"),
    "ceiling": ("ceiling", "roof"),
    "toilet": ("toilet", "wc", "lavatory", "urinal", "bidet"),
    "stool": ("stool", "barstool", "footstool", "ottoman", "pouf", "pouffe", "footrest",
              "hassock"),
    "towel": ("towel", "washcloth"),
    "mirror": ("mirror",),
    "tv_monitor": ("tv", "television", "monitor", "screen", "display", "tvmonitor"),
    "shower": ("shower", "showerhead", "showerstall", "showercubicle"),
    "column": ("column", "pillar"),
    "bathtub": ("bathtub", "tub", "bath", "jacuzzi", "hottub"),
    "counter": ("counter", "countertop", "worktop", "kitchenisland", "island",
                "breakfastbar"),
    "fireplace": ("fireplace", "hearth", "mantel", "mantelpiece", "chimney"),
    "lighting": ("light", "lamp", "chandelier", "sconce", "lantern", "bulb", "lightbulb",
                 "spotlight", "lampshade", "luminaire"),
    "beam": ("beam", "rafter", "joist", "girder"),
    "railing": ("railing", "rail", "banister", "balustrade", "handrail", "guardrail"),
    "shelving": ("shelf", "shelves", "shelving", "bookshelf", "bookshelves", "bookcase",
                 "rack", "shelfunit"),
    "blinds": ("blinds", "blind", "shutter", "shutters"),
    "gym_equipment": ("treadmill", "dumbbell", "barbell", "kettlebell", "exercisebike",
                      "gymequipment", "weightbench", "rowingmachine", "elliptical"),
    "seating": ("bench", "pew", "seating"),
    "board_panel": ("board", "whiteboard", "blackboard", "chalkboard", "corkboard", "panel",
                    "noticeboard"),
    "furniture": ("furniture", "cart", "trolley"),
    "appliances": ("appliance", "appliances", "fridge", "refrigerator", "freezer", "oven",
                   "stove", "cooker", "microwave", "dishwasher", "washer", "washingmachine",
                   "dryer", "radiator", "heater", "hob", "range"),
    "clothes": ("clothes", "clothing", "shirt", "jacket", "coat", "dress", "trousers", "pants",
                "laundry", "garment"),
    "objects": ("object", "objects", "book", "books", "vase", "bottle", "cup", "mug", "bowl",
                "plate", "box", "bag", "basket", "bin", "trashcan", "toy", "clock", "laptop",
                "keyboard", "phone", "decoration", "decor", "ornament"),
    "misc": ("misc", "miscellaneous"),
    "unlabeled": ("unlabeled", "unlabelled"),
}

#: Long words that end with a table word without meaning it.
_FALSE_SUFFIXES = frozenset({
    "vegetable", "portable", "notable", "timetable", "turntable", "constable", "comfortable",
    "stable", "suitable", "washable", "adjustable", "foldable", "lockable", "stackable",
    "keyboard", "dashboard", "skateboard", "snowboard", "surfboard", "billboard",
    "clipboard", "cardboard", "overboard",
})  # fmt: skip
_MAX_PHRASE = 3


def _build_lookup() -> dict[str, int]:
    lookup: dict[str, int] = {}
    for name, words in SYNONYMS.items():
        for word in words:
            if word in lookup:
                raise RuntimeError(f"SYNONYMS: {word!r} is listed under two classes")
            lookup[word] = CLASS_ID[name]
    return lookup


_WORD_CLASS = _build_lookup()
_SUFFIX_WORDS = sorted((w for w in _WORD_CLASS if len(w) >= 4), key=len, reverse=True)
_TOKEN = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")


def tokenize(name: str) -> list[str]:
    """The lower-case words of an object name: camelCase, ``.``, ``_``, ``-`` and digits split.

    ``"BedsideTable.001"`` -> ``["bedside", "table"]``; ``"TVStand_2"`` -> ``["tv", "stand"]``.
    """
    return [t.lower() for t in _TOKEN.findall(name)]


def _lookup(phrase: str, single: bool) -> tuple[int, str] | None:
    """The class of one phrase and the table word it matched, or None."""
    if phrase in _WORD_CLASS:
        return _WORD_CLASS[phrase], phrase
    if phrase.endswith("s") and phrase[:-1] in _WORD_CLASS:
        return _WORD_CLASS[phrase[:-1]], phrase[:-1]
    if phrase.endswith("es") and phrase[:-2] in _WORD_CLASS:
        return _WORD_CLASS[phrase[:-2]], phrase[:-2]
    if single and phrase not in _FALSE_SUFFIXES:
        for word in _SUFFIX_WORDS:
            if len(phrase) - len(word) >= 3 and phrase.endswith(word):
                return _WORD_CLASS[word], word
    return None


def guess_class(name: str) -> tuple[int, str] | None:
    """Guess the MPCAT40 class of an object from its name (case-insensitive).

    Returns ``(class_id, word)``, the class and the table word that matched (``"Couch.003"`` ->
    ``(10, "couch")``), or ``None`` when no word of the name is known. The rules are in this
    module's docstring: the match ending at the rightmost word wins, then the longest phrase.
    """
    tokens = tokenize(name)
    for end in range(len(tokens), 0, -1):
        for start in range(max(0, end - _MAX_PHRASE), end):
            found = _lookup("".join(tokens[start:end]), single=end - start == 1)
            if found is not None:
                return found
    return None


def guess_classes(names: Iterable[str]) -> dict[str, tuple[int, str]]:
    """``{name: (class_id, source)}`` for each name: ``source`` is ``"guess:<word>"``, or
    ``(0, "none")`` when nothing matched."""
    out: dict[str, tuple[int, str]] = {}
    for name in names:
        found = guess_class(name)
        out[name] = (found[0], f"guess:{found[1]}") if found else (0, "none")
    return out


def parse_class(value) -> int:
    """An explicit class label -> MPCAT40 id.

    Accepts an id (an int, or a string of digits) in 0..41, an MPCAT40 name in any case with
    spaces or hyphens for underscores (``"Chest of drawers"``), or one word of :data:`SYNONYMS`
    (``"couch"`` -> sofa). Raises ``ValueError`` naming the value otherwise (callers add which
    file or entry it came from).
    """
    if isinstance(value, bool):
        raise ValueError(f"expected an MPCAT40 class name or id, found {value!r}")
    if isinstance(value, int) or (isinstance(value, float) and float(value).is_integer()):
        class_id = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        class_id = int(value.strip())
    elif isinstance(value, str):
        key = re.sub(r"[\s\-]+", "_", value.strip().lower())
        if key in CLASS_ID:
            return CLASS_ID[key]
        if key.replace("_", "") in _WORD_CLASS:
            return _WORD_CLASS[key.replace("_", "")]
        raise ValueError(f"unknown class {value!r}: expected an MPCAT40 name (e.g. 'chair', "
                         f"'sofa', 'floor'), a known synonym or an id 0..{NUM_CLASSES - 1}")
    else:
        raise ValueError(f"expected an MPCAT40 class name or id, found {value!r}")
    if not 0 <= class_id < NUM_CLASSES:
        raise ValueError(f"class id {class_id} is outside 0..{NUM_CLASSES - 1}")
    return class_id


_GEOMETRY_WORDS = {
    "floor": "large level faces at the bottom of the scene",
    "wall": "large upright faces standing on the floor",
    "ceiling": "large level faces at the top of the mesh",
}


def _describe(source: str) -> str:
    if source == "label":
        return "labelled in the file"
    if source == "classes":
        return "from the class mapping"
    if source.startswith("guess:"):
        return f"guessed from the word {source[6:]!r}"
    if source.startswith("geometry:"):
        return f"{source[9:]} by its shape ({_GEOMETRY_WORDS.get(source[9:], 'faces')})"
    return ("unlabelled: an obstacle without a class (add it to a classes mapping or name it "
            "after its class)")


def format_report(entries: Iterable[MeshObject] | Mapping[str, tuple[int, str]]) -> str:
    """A readable table of objects, their classes and where each came from, and a summary line.

    Sources are described in words: labelled in the file, from the class mapping, guessed from a
    word of the name, classed by shape (``"geometry:<class>"``: a part of a room mesh, see
    :mod:`posa_model.scene.rooms`), or unlabelled (an obstacle without a class).

    ``entries``: :class:`MeshObject` s, or ``{name: (class_id, source)}`` as returned by
    :func:`guess_classes`.
    """
    if isinstance(entries, Mapping):
        rows = [(name, int(c), s) for name, (c, s) in entries.items()]
    else:
        rows = [(o.name, o.class_id, o.class_source) for o in entries]
    if not rows:
        return "no objects"
    width = max(len(r[0]) for r in rows)
    lines = []
    for name, class_id, source in rows:
        label = f"{MPCAT40_NAMES[class_id]} ({class_id})" if class_id else "-"
        lines.append(f"  {name:<{width}}  {label:<22} {_describe(source)}")
    kinds = [s.split(":")[0] for _, _, s in rows]
    shaped = (f"{kinds.count('geometry')} classed by shape, " if "geometry" in kinds else "")
    summary = (f"{len(rows)} objects: {kinds.count('label')} labelled in the file, "
               f"{kinds.count('classes')} from the mapping, {kinds.count('guess')} guessed, "
               f"{shaped}{kinds.count('none')} unlabelled")
    return "\n".join([summary, *lines])
