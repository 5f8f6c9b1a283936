"""The 42 MPCAT40 semantic classes POSA predicts, their colours, and the reference's remaps.

This module is the single source of class names and colours for the whole project (sampler
outputs, PLY/GLB colours, the Blender legend). Class 0 (``void``) means "no contact".
"""

from __future__ import annotations

import numpy as np

MPCAT40_NAMES: tuple[str, ...] = (
    "void", "wall", "floor", "chair", "door", "table", "picture", "cabinet", "cushion",
    "window", "sofa", "bed", "curtain", "chest_of_drawers", "plant", "sink", "stairs",
    "ceiling", "toilet", "stool", "towel", "mirror", "tv_monitor", "shower", "column",
    "bathtub", "counter", "fireplace", "lighting", "beam", "railing", "shelving", "blinds",
    "gym_equipment", "seating", "board_panel", "furniture", "appliances", "clothes",
    "objects", "misc", "unlabeled",
)  # fmt: skip
NUM_CLASSES = len(MPCAT40_NAMES)  # 42
CLASS_ID: dict[str, int] = {name: i for i, name in enumerate(MPCAT40_NAMES)}

#: Remaps the reference applies when loading PROX labels: seating -> sofa, bathtub -> lighting.
REFERENCE_CLASS_REMAP: dict[int, int] = {34: 10, 25: 28}

#: (42, 3) uint8 sRGB colour per class; void is a neutral light grey so it reads as "no contact".
PALETTE = np.array(
    [
        (200, 200, 200), (174, 199, 232), (152, 223, 138), (31, 119, 180), (255, 187, 120),
        (188, 189, 34), (140, 86, 75), (255, 152, 150), (214, 39, 40), (197, 176, 213),
        (148, 103, 189), (196, 156, 148), (23, 190, 207), (178, 76, 76), (247, 182, 210),
        (66, 188, 102), (219, 219, 141), (140, 57, 197), (202, 185, 52), (51, 176, 203),
        (200, 54, 131), (92, 193, 61), (78, 71, 183), (172, 114, 82), (255, 127, 14),
        (91, 163, 138), (153, 98, 156), (140, 153, 101), (158, 218, 229), (100, 125, 154),
        (178, 127, 135), (120, 185, 128), (146, 111, 194), (44, 160, 44), (112, 128, 144),
        (96, 207, 209), (227, 119, 194), (213, 92, 176), (94, 106, 211), (82, 84, 163),
        (100, 85, 144), (120, 120, 120),
    ],
    dtype=np.uint8,
)  # fmt: skip


def class_name(class_id: int) -> str:
    """The MPCAT40 name of ``class_id``; raises ValueError outside 0..41."""
    if not 0 <= int(class_id) < NUM_CLASSES:
        raise ValueError(f"class id {class_id} is outside 0..{NUM_CLASSES - 1}")
    return MPCAT40_NAMES[int(class_id)]


def semantic_colors(class_ids: np.ndarray) -> np.ndarray:
    """(..., ) int class ids -> (..., 3) uint8 sRGB colours from :data:`PALETTE`."""
    return PALETTE[np.asarray(class_ids, dtype=np.int64)]


# A perceptual heat ramp for contact probability: grey (0) -> yellow -> orange -> red (1).
_HEAT_STOPS = np.array([0.0, 0.5, 0.75, 1.0])
_HEAT_RGB = np.array([(200, 200, 200), (255, 221, 87), (245, 130, 32), (200, 20, 30)], float)


def contact_colors(probability: np.ndarray) -> np.ndarray:
    """(...,) contact probabilities in [0, 1] -> (..., 3) uint8 sRGB heat-map colours."""
    p = np.clip(np.asarray(probability, dtype=np.float64), 0.0, 1.0)
    rgb = [np.interp(p, _HEAT_STOPS, _HEAT_RGB[:, c]) for c in range(3)]
    return np.rint(np.stack(rgb, axis=-1)).astype(np.uint8)
