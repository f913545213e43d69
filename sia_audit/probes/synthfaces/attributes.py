"""The 15 attributes of the paper, in the paper's order, with the synthetic domain's base rates."""

from __future__ import annotations

ATTRIBUTES: tuple[str, ...] = (
    "Bald",
    "Bangs",
    "Black_Hair",
    "Blond_Hair",
    "Brown_Hair",
    "Bushy_Eyebrows",
    "Eyeglasses",
    "Male",
    "Mouth_Slightly_Open",
    "Mustache",
    "No_Beard",
    "Pale_Skin",
    "Young",
    "Smiling",
    "Wearing_Lipstick",
)
INDEX: dict[str, int] = {name: i for i, name in enumerate(ATTRIBUTES)}

# At most one of these is "on" in a sampled face (CelebA labels them the same way).
HAIR_COLOURS: tuple[str, ...] = ("Black_Hair", "Blond_Hair", "Brown_Hair")

# P(attribute on) for independent draws. Chosen so every attribute appears often enough in a
# few hundred probes to be measurable, with CelebA's skews kept in direction (No_Beard and Young
# mostly on, Bald rare). Hair colours are drawn as one categorical: these three plus "other".
BASE_RATES: dict[str, float] = {
    "Bald": 0.10,
    "Bangs": 0.25,
    "Black_Hair": 0.25,
    "Blond_Hair": 0.20,
    "Brown_Hair": 0.25,
    "Bushy_Eyebrows": 0.20,
    "Eyeglasses": 0.25,
    "Male": 0.45,
    "Mouth_Slightly_Open": 0.45,
    "Mustache": 0.20,
    "No_Beard": 0.75,
    "Pale_Skin": 0.20,
    "Young": 0.70,
    "Smiling": 0.45,
    "Wearing_Lipstick": 0.35,
}
