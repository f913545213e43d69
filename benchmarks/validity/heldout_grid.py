"""The held-out suite's grid: a half to choose on, a half to test on, and later rounds.

Fifteen labels, sixteen architectures, fourteen training loops. Every figure, rule and
threshold the tool ships is chosen on the `choose` half; the `test` half is audited once, after
that choice is committed, and only measured. The split is by label *and* by architecture: a
test model has a label and an architecture that no chosen rule has seen (the cells off the
diagonal are not trained). The choose half holds one of the project's own architectures,
trained with its own loop, and a torchvision model trained with the other; the test half holds
another torchvision model and the project's other architecture, both trained with the other
loop.

The test half first had ShuffleNetV2 x0.5 in place of SmallResNet: with this loop it did not
train (loss 0.69, chance, after 500 steps on Smiling), and it was replaced before any audit.

- choose: labels Eyeglasses, Male, No_Beard, Bald; SmallCNN (fit) and MobileNetV3-small
  (sgd-aug);
- test: labels Smiling, Wearing_Lipstick, Bushy_Eyebrows, Pale_Skin; ResNet-18 (sgd-aug) and
  SmallResNet (sgd-aug).

Both halves have been seen (docs/validity.md): the regression gates shipped after the test
half was scored. The third round, `test3`, is cells nothing shipped has seen: four labels no
half uses, a third torchvision architecture and a third loop. It chooses nothing; it measures
the shipped policy as it stands.

- test3: labels Young, Mustache, Blond_Hair, Bangs; RegNetX-400MF (adamw-aug).

Mouth_Slightly_Open was the second label until its first truthful control reached only 0.854
clean accuracy in 500 steps (too low to plant a realistic shortcut on); it was replaced by
Mustache before any model of the round was audited.

The round was audited and scored once (docs/logs/heldout_scoring_test3.log): it is seen now,
and a rule changed after it needs new cells again.

The fourth round, `test4`, tests what was then chosen on all three seen rounds (the report's
lead becomes the flip rate, ties by the flip loss; fairness.yaml's regression section becomes
flip loss +0.05 and SDAR +0.02 at 64 probes; heldout_scoring.DECLARED), on the three labels
left, a fourth torchvision architecture and a fourth loop:

- test4: labels Black_Hair, Brown_Hair, Mouth_Slightly_Open; ShuffleNetV2 x1.0 (rmsprop-aug).

Its first two controls (Black_Hair and Brown_Hair, seed 1) were trained before the choice was
committed, to see that the architecture trains with the loop; no model of it was audited
before. It was audited and scored once (docs/logs/heldout_scoring_test4.log) and is seen now:
every label of the grid has been used, so a next round needs new labels (another attribute
set or data) or at least a new architecture and loop.

The fifth round, `test5`, is the latter: a fifth torchvision architecture and a fifth loop, on
three labels earlier rounds used, each with two shortcuts no round planted on it: two hair
colours (flipping Bald or Young through the generator changes the hair, most for Brown_Hair)
and one next to the mouth. Its labels are not new, so it tests the architecture and
loop out of sample, and the labels only as far as their shortcuts are new.

- test5: labels Blond_Hair, Wearing_Lipstick, Brown_Hair; MobileNetV2 (sgd-mixup).

It was audited and scored once (docs/logs/heldout_scoring_test5.log) and is seen now.

The sixth round, `test6`, is a label whose flip through the shipped generator is redrawn by
another attribute's flip (Bald into Black_Hair), with shortcuts from the mouth that no round
planted on it, on a sixth torchvision architecture and a sixth loop, and with four truthful
seeds (three null pairs). It tests the rules that leave such flips out
(heldout_scoring.DECLARED).

- test6: label Black_Hair; GoogLeNet (adam-erase); control seeds 1-4; four shortcuts.

Before any model of the round was audited: MNASNet 0.5 was its first architecture until its
first controls, with this loop, reached only 0.898 (Black_Hair) and 0.777 (Brown_Hair)
held-out clean accuracy in 500 steps, too low to plant a realistic shortcut on; it was replaced
by GoogLeNet. Brown_Hair (where Bald and Young redraw the label) was the round's first label
until its first GoogLeNet control still answered the majority class (0.775) after 250 of its
500 steps; it was dropped, and Black_Hair got two more seeds in its place. Its first two
searches found one realistic plant (Mouth_Slightly_Open was never used realistically in three
tries), so two more shortcuts, Smiling and Pale_Skin, were added before any audit of the round
was looked at. It was audited and scored once (docs/logs/heldout_scoring_test6.log) and is
seen now.

The seventh round, `test7`, tests what was chosen after all six (heldout_scoring.DECLARED):
fairness.yaml's regression section is the flip loss alone, and calibrate's margins are the
most any seed pair needed. Two labels of round 2 (learnt cleanly by every network before), each
with two shortcuts no round planted on it and two truthful seeds (a null pair each), on a
seventh torchvision architecture and a seventh loop. Each label's first shortcut is trained
after its controls, the second after both labels' first (EfficientNet-B0 trains at 2-3 s a
step on one core beside another job, so a round takes hours).

- test7: labels Smiling, Bushy_Eyebrows; EfficientNet-B0 (nadam-cutmix).

Before any model of the round was audited (and before any finished training): both first
EfficientNet-B0 controls answered the majority class for 200 steps with the loop's NAdam at
2e-3, and again at 1e-3; MNASNet 1.0 in its place did the same for 100 steps. torchvision
scales both networks' initial head weights by 1/sqrt(classes), which for one logit starts it
far from 0 (EfficientNet-B0: about 6 in magnitude). EfficientNet-B0 came back with its head
initialised as torch's default, the rate staying at 1e-3.

During the round, before any of its audits was looked at: Smiling's controls reached only
0.885-0.922 held-out clean accuracy and its first plant used Young alone, so its shortcut search
was stopped and Bushy_Eyebrows' second shortcut trained beside its first. It was audited and
scored once (docs/logs/heldout_scoring_test7.log) and is seen now.

The eighth round, `test8`, tests what was chosen after all seven (heldout_scoring.DECLARED):
fairness.yaml's flip-loss allowance becomes the larger of 0.05 and 3 times the baseline's own
flip loss on that attribute, since round 7's seeds of a weakly learnt label differed by more
than 0.05 on attributes where both moved the loss a lot. Smiling (learnt weakly by
EfficientNet-B0) and Mouth_Slightly_Open (learnt weakly by RegNetX-400MF in round 3),
each with two shortcuts no round planted on it and two truthful seeds, on an eighth torchvision
architecture, one without batch norm, and an eighth loop.

- test8: labels Smiling, Mouth_Slightly_Open; SqueezeNet 1.1 (radam-smooth).

Before any model of the round was kept: its first Smiling control was still at chance after 225
steps with RAdam at 1e-3, and the loop's rate became 3e-3 (heldout_loop).

During the round, before any of its audits was looked at (two controls had been audited):
Mouth_Slightly_Open's controls reached 0.924 and 0.928 held-out clean accuracy, and its first
search (Bangs) reached the band where Bangs disagrees only at 0.84 clean accuracy (pull 0.9)
and was not used at 0.8. A label learnt that weakly leaves no room for a realistic plant, so
its second search (Blond_Hair) was stopped at its first step and two more truthful seeds
(MORE_SEEDS) took its place: the round's question is what a weakly learnt label's seeds do.
Smiling's two searches, weaker pulls included, found no realistic band either. It was audited
and scored once (docs/logs/heldout_scoring_test8.log) and is seen now.

The ninth round, `test9`, tests the same rules again (nothing was chosen after round 8), where
they have not been tested out of sample: on a label learnt only moderately (RegNetX-400MF
learnt Mustache to 0.94-0.95 in round 3, Young to 0.97-0.98), where a seed pair's flip losses
can differ by more than 0.05, and on shortcuts no round planted on either label, on a ninth
torchvision architecture and a ninth loop.

- test9: labels Mustache, Young; MNASNet 1.0 (adamax-restarts).

During the round, before any of its models was audited: MNASNet learnt Mustache to only 0.910
held-out clean accuracy (seed 1; Young 0.949), too weakly for a realistic plant beside the
first search (as Mouth_Slightly_Open in round 8), so its second search (Pale_Skin) was dropped
before it started and two more truthful seeds (MORE_SEEDS) took its place. Then, while the
first two controls were being audited (their audits not looked at), its second seed reached
only 0.852 (Young's 0.912): its first search (Eyeglasses) was dropped too, before it started,
so that Young's two searches get the machine. Mustache is a label of null pairs only. The
model cache was then lost with its machine: the audited controls were restored from their
packs, the rest trained again from their seeds, and the first Mustache try on Young (never
used) rebuilt from its log. Wearing_Lipstick on Young cost too much clean accuracy at every
LEVELS pull, so its WEAKER pulls ran; they found no realistic band either. The round has no
plant: six truthful controls, four null pairs. It was audited and scored once
(docs/logs/heldout_scoring_test9.log) and is seen now.

The tenth round, `test10`, tests the same rules again (nothing was chosen after round 9), for
the power they were not tested on in rounds 8 and 9, whose architectures learnt their labels
too weakly for any realistic plant: two labels that every architecture so far learnt to 0.98
or more (Blond_Hair, Male), each with two shortcuts no round planted on it, on a tenth
torchvision architecture, RegNetY-400MF (a sibling of round 3's RegNetX-400MF, which made
realistic plants in 4 of 8 cells), and a tenth loop (Adam with the rate halved on a plateau).

- test10: labels Blond_Hair, Male; RegNetY-400MF (adam-plateau).

During the round, before any of its models was audited: RegNetY learnt Male to only 0.889
held-out clean accuracy (seed 1; Blond_Hair 0.988), below the band's 0.90 even without a
shortcut, so both of its searches were dropped before they started and two more truthful
seeds (MORE_SEEDS) took their place, as for Mustache in round 9. Blond_Hair made three plants
(Wearing_Lipstick weak and strong, Pale_Skin strong). It was audited and scored once
(docs/logs/heldout_scoring_test10.log) and is seen now.

The eleventh round, `test11`, tests the same rules again on a hair-colour label, where round 10's
weak plant was outranked by Bald (whose flip removes the hair the label is read from), and on a
label every network so far learnt to 0.99 or more, each with two shortcuts no round planted on
it, on an eleventh torchvision architecture and an eleventh loop (Adagrad, random resized crops:
the first loop whose augmentation changes the scale of the face).

- test11: labels Blond_Hair, Eyeglasses; MobileNetV3-large (adagrad-crop).

What it tests was chosen on the ten seen rounds after its first four controls were trained,
before any of its models was audited (heldout_scoring.DECLARED). Young on Blond_Hair was used
too much at every LEVELS pull, so its WEAKER pulls ran (none made a band); Smiling on Eyeglasses
found none in three tries. It made three plants (Bushy_Eyebrows weak and strong, Pale_Skin
strong), was audited and scored once (docs/logs/heldout_scoring_test11.log) and is seen now.

The twelfth round, `test12`, tests the rules again where round 11 missed its power goal (plant
subsets caught at 64 probes), on two labels with plants in earlier rounds (a hair-colour one
and a mouth one), each with two shortcuts no round planted on it, on a network family no round
used (DenseNet: every block concatenates its earlier feature maps) and a twelfth loop (AdamW at
a one-cycle rate with cycled momentum, Gaussian pixel noise).

- test12: labels Black_Hair, Wearing_Lipstick; DenseNet-BC k=12 (adamw-noise).

Declared before any of its models was trained; the rule for round 11's power miss (each
probe's flip loss capped at 1 in the regression gate), chosen on the eleven seen rounds, was
declared before the first audit of the round. Every LEVELS pull of Mustache on Black_Hair used
it too much, so its WEAKER pulls ran (0.7 made a weak and a strong plant); Young on Black_Hair
found no band down to 0.6. It made four plants (Mustache weak and strong, Pale_Skin and Bangs
strong), was audited and scored once (docs/logs/heldout_scoring_test12.log) and is seen now.

The thirteenth round, `test13`, tests a new lead for the report (the moved share: the share of
faces whose loss one flip moves, in full from a change of 0.2 on; chosen on the twelve seen
rounds, where it ranks 37 of 39 plants first against the flip rate's 34), with the regression
section and margins unchanged, on a label every network so far learnt well and a hair-colour
label, each with two shortcuts no round planted on it, on a network family no round used
(ConvNeXt: a patchify stem, 7x7 depthwise convolutions, layer norm in place of batch norm) and a
thirteenth loop (Adadelta with PyTorch's MNIST example's step decay).

- test13: labels Eyeglasses, Black_Hair; ConvNeXt-atto (adadelta-steps).

Declared, with the lead it tests, before any of its models was trained. Pilot controls (seed 1,
outside the suite's cache, not kept) saw that the network trains with the loop: Eyeglasses 0.95
held-out clean accuracy after 500 steps, Black_Hair 0.94 after 75; Smiling still at chance (0.55)
after 300 steps and Wearing_Lipstick at 0.65 after 150, so neither was declared.
Eyeglasses made no plant: the network took Wearing_Lipstick (every pull down to 0.6) and
Black_Hair (down to 0.8; its 0.7 try was stopped for time, unrecorded) in its place. No_Beard
on Black_Hair found no band down to 0.6. It made one plant (Bushy_Eyebrows weak), was audited
and scored once (docs/logs/heldout_scoring_test13.log) and is seen now.

The fourteenth round, `test14`, tests the same rules again (nothing was chosen after round 13),
for the lead's sake on more plants than round 13's one: two labels whose controls every network
with plants learnt to 0.97 or more and that made plants on three and four networks, each with
three shortcuts no round planted on it (searched in order, one process per label), on a network
family no round used (VGG: a plain stack of 3x3 convolutions, no shortcut connection) and a
fourteenth loop (SGD with heavy-ball momentum, exponential decay, rotations).

- test14: labels Bushy_Eyebrows, Wearing_Lipstick; VGG-11 at a quarter width (sgd-rotate).

Declared before any of its models was trained. Pilot controls (seed 1, outside the suite's
cache, not kept) saw that the network trains with the loop: Bushy_Eyebrows 1.000 held-out clean
accuracy after 125 steps, Wearing_Lipstick 0.996; with VGG's own three-layer head they still
answered the majority class after 200 steps, and the head became one linear layer.
Eyeglasses on Bushy_Eyebrows was used too much at every pull, the WEAKER ones included; Young
on Wearing_Lipstick made a weak plant at the weaker pull 0.7; Brown_Hair on Wearing_Lipstick
was never used at 1.0 and 0.99 and too much at 0.91 (its three tries). It made five plants
(Mustache weak and strong, Young weak, Pale_Skin and Blond_Hair strong), was audited and scored
once (docs/logs/heldout_scoring_test14.log) and is seen now.

The fifteenth round, `test15`, tests a new lead: the push (binary targets), chosen on the
fourteen seen rounds' 45 plants, where it ranked all 45 shortcuts first (the moved share 42).
Each flip's loss change is signed by the way it moves the answer (+ toward the positive class
as the attribute turns on), counted in full from 0.05 on; the push is the size of the mean.
The rest is as round 14 ruled. Two labels that made plants before and learn with this
network and loop, Young (whose plants gave the moved share two of its three misses) and
Smiling, each with three shortcuts no round planted on it, on a network family no round used
(AlexNet: large kernels, 11 x 11 and 5 x 5) and a fifteenth loop (Adafactor with warm-up and
cosine, and Gaussian blur).

- test15: labels Young, Smiling; AlexNet at a quarter width, with batch norm (adafactor-blur).

Declared before any of its models was trained. Pilot controls (seed 1, outside the suite's
cache, not kept; the loop without its blur) saw that the network trains: Young 0.96 held-out
clean accuracy by step 225, Smiling 0.95 by 225 (0.78 at 250, mid-schedule), Bushy_Eyebrows
0.97 by 150, Wearing_Lipstick 1.00 by 125; without batch norm it answered the majority class
for 150 steps, and a conv-stem ViT for 100. Bushy_Eyebrows on Smiling was used too much at
every pull down to 0.7 and made a weak plant at the weaker pull 0.6. It made six plants, all
weak (Smiling, Bangs and Bushy_Eyebrows on Young; Brown_Hair, Bald and Bushy_Eyebrows on
Smiling), was audited and scored once (docs/logs/heldout_scoring_test15.log) and is seen now.

The sixteenth round, `test16`, tests the same rules again (nothing was chosen after round 15),
for more plants under the push and more null pairs under the regression section that failed
one of round 15's: two labels that made plants on four and more networks, each with three
shortcuts no round planted on it (searched in order, one process per label), on a network
family no round used (Network in Network: 1x1 convolutions, no fully connected layer) and a
sixteenth loop (AMSGrad with an inverse square-root schedule, and saturation jitter).

- test16: labels Wearing_Lipstick, Bushy_Eyebrows; Network in Network with batch norm
  (amsgrad-saturation).

Declared before any of its models was trained. Pilot controls (seed 1, outside the suite's
cache, not kept; the loop without its saturation jitter) saw that the network trains:
Bushy_Eyebrows 0.91 held-out clean accuracy by step 50, Wearing_Lipstick 0.97. Bushy_Eyebrows
was stopped for time midway through its first control, before any model of the round was saved
or audited; `train --label Wearing_Lipstick` trained the round. It made two plants (Black_Hair
strong, Male weak; none for Bald), was audited and scored once
(docs/logs/heldout_scoring_test16.log) and is seen now.

Per label and architecture: two truthful controls (seeds 1 and 2: the null pair) and two
planted shortcuts (seed 1, like the first control: a pull request that brings a shortcut into
an unchanged recipe). A plant is realistic when held-out clean accuracy >= 0.90 and accuracy
where the shortcut disagrees with the label lies in [0.70, 0.85]; weak band (0.80, 0.85],
strong band [0.70, 0.80].
"""

from __future__ import annotations

from dataclasses import dataclass

HALVES = (
    "choose", "test", "test3", "test4", "test5", "test6", "test7", "test8", "test9", "test10",
    "test11", "test12", "test13", "test14", "test15", "test16",
)  # fmt: skip


@dataclass(frozen=True)
class Arch:
    """One architecture of the grid and the loop it is trained with."""

    key: str  # cache names
    net: str  # a key of heldout_nets.NETS
    loop: str  # "fit" (the project's Adam + cosine) or a key of heldout_suite.LOOPS
    half: str


ARCHS = (
    Arch("cnn", "cnn", "fit", "choose"),
    Arch("mnv3", "mobilenet_v3_small", "sgd-aug", "choose"),
    Arch("r18", "resnet18", "sgd-aug", "test"),
    Arch("sres", "small_resnet", "sgd-aug", "test"),
    Arch("rgx", "regnet_x_400mf", "adamw-aug", "test3"),
    Arch("shf", "shufflenet_v2", "rmsprop-aug", "test4"),
    Arch("mnv2", "mobilenet_v2", "sgd-mixup", "test5"),
    Arch("ggl", "googlenet", "adam-erase", "test6"),
    Arch("eff", "efficientnet_b0", "nadam-cutmix", "test7"),
    Arch("sqz", "squeezenet1_1", "radam-smooth", "test8"),
    Arch("mnas1", "mnasnet1_0", "adamax-restarts", "test9"),
    Arch("regy", "regnet_y_400mf", "adam-plateau", "test10"),
    Arch("mnv3l", "mobilenet_v3_large", "adagrad-crop", "test11"),
    Arch("dn12", "densenet_k12", "adamw-noise", "test12"),
    Arch("cnx", "convnext_atto", "adadelta-steps", "test13"),
    Arch("vgg", "vgg11_quarter", "sgd-rotate", "test14"),
    Arch("alx", "alexnet_quarter", "adafactor-blur", "test15"),
    Arch("nin", "nin_bn", "amsgrad-saturation", "test16"),
)

# Per label, the half and two shortcuts from other regions of the face (none hidden by the
# label, none in its exclusive hair-colour group).
LABELS: dict[str, tuple[str, tuple[str, str]]] = {
    "Eyeglasses": ("choose", ("Mustache", "Bangs")),
    "Male": ("choose", ("Smiling", "Pale_Skin")),
    "No_Beard": ("choose", ("Wearing_Lipstick", "Young")),
    "Bald": ("choose", ("Mustache", "Pale_Skin")),
    "Smiling": ("test", ("Eyeglasses", "Bangs")),
    "Wearing_Lipstick": ("test", ("Bushy_Eyebrows", "Blond_Hair")),
    "Bushy_Eyebrows": ("test", ("Mustache", "Young")),
    "Pale_Skin": ("test", ("Smiling", "Black_Hair")),
    "Young": ("test3", ("Eyeglasses", "Black_Hair")),
    "Mustache": ("test3", ("Brown_Hair", "Bushy_Eyebrows")),
    "Blond_Hair": ("test3", ("Smiling", "Mustache")),
    "Bangs": ("test3", ("Pale_Skin", "Wearing_Lipstick")),
    "Black_Hair": ("test4", ("Eyeglasses", "Bangs")),
    "Brown_Hair": ("test4", ("Mustache", "Smiling")),
    "Mouth_Slightly_Open": ("test4", ("Eyeglasses", "Young")),
}
# Rounds after every label was used: labels of earlier rounds, with shortcut pairs that no
# round planted on them (the same rules: other regions, outside the label's hair-colour group).
REUSED: dict[str, dict[str, tuple[str, ...]]] = {
    "test5": {
        "Blond_Hair": ("Eyeglasses", "Mouth_Slightly_Open"),
        "Wearing_Lipstick": ("Smiling", "Eyeglasses"),
        "Brown_Hair": ("Pale_Skin", "Eyeglasses"),
    },
    "test6": {
        "Black_Hair": ("Mouth_Slightly_Open", "Wearing_Lipstick", "Smiling", "Pale_Skin"),
    },
    "test7": {
        "Smiling": ("Young", "Blond_Hair"),
        "Bushy_Eyebrows": ("Smiling", "Wearing_Lipstick"),
    },
    "test8": {
        "Smiling": ("Pale_Skin", "Black_Hair"),
        "Mouth_Slightly_Open": ("Bangs",),
    },
    "test9": {
        "Mustache": (),
        "Young": ("Mustache", "Wearing_Lipstick"),
    },
    "test10": {
        "Blond_Hair": ("Wearing_Lipstick", "Pale_Skin"),
        "Male": (),  # learnt to 0.889 (seed 1): no realistic plant; more seeds instead
    },
    "test11": {
        "Blond_Hair": ("Young", "Bushy_Eyebrows"),
        "Eyeglasses": ("Smiling", "Pale_Skin"),
    },
    "test12": {
        "Black_Hair": ("Mustache", "Young"),
        "Wearing_Lipstick": ("Pale_Skin", "Bangs"),
    },
    "test13": {
        "Eyeglasses": ("Wearing_Lipstick", "Black_Hair"),
        "Black_Hair": ("Bushy_Eyebrows", "No_Beard"),
    },
    "test14": {
        "Bushy_Eyebrows": ("Pale_Skin", "Eyeglasses", "Blond_Hair"),
        "Wearing_Lipstick": ("Mustache", "Young", "Brown_Hair"),
    },
    "test15": {
        "Young": ("Smiling", "Bangs", "Bushy_Eyebrows"),
        "Smiling": ("Bushy_Eyebrows", "Brown_Hair", "Bald"),
    },
    "test16": {
        "Wearing_Lipstick": ("Black_Hair", "Bald", "Male"),
        "Bushy_Eyebrows": ("Black_Hair", "Mouth_Slightly_Open", "No_Beard"),
    },
}
CONTROL_SEEDS = (1, 2)
# A round with one label trains more truthful seeds: each seed after the first makes one more
# null pair with it, where the false-alarm rate is read.
# So does a label learnt too weakly for a realistic plant, in place of its plant search.
MORE_SEEDS: dict[str, dict[str, tuple[int, ...]]] = {
    "test6": {"Black_Hair": (3, 4)},
    "test8": {"Mouth_Slightly_Open": (3, 4)},
    "test9": {"Mustache": (3, 4)},
    "test10": {"Male": (3, 4)},
}


# Rounds after the eleventh make that swap themselves: where a label's first control (seed
# PLANT_SEED) ends below CLEAN_MIN, no shortcut can leave a realistic plant, so its searches
# give way to these seeds (heldout_suite.train_half). Rounds 8-10 made it by hand, mid-round.
AUTO_SEEDS = (3, 4)


def auto_seeds(half: str) -> bool:
    """Whether the half swaps a weakly learnt label's searches for AUTO_SEEDS itself."""
    return half in HALVES and HALVES.index(half) > HALVES.index("test11")


def control_seeds(half: str, label: str) -> tuple[int, ...]:
    """The seeds of a cell's truthful controls: CONTROL_SEEDS, and MORE_SEEDS where it has
    (AUTO_SEEDS too where the half swaps them in itself: a seed never trained has no model)."""
    more = MORE_SEEDS.get(half, {}).get(label, ())
    auto = tuple(s for s in AUTO_SEEDS if s not in more) if auto_seeds(half) else ()
    return CONTROL_SEEDS + more + auto


PLANT_SEED = 1

CLEAN_MIN = 0.90
WEAK = (0.80, 0.85)  # accuracy where the shortcut disagrees: (low, high]
STRONG = (0.70, 0.80)  # [low, high]


def band(clean_acc: float, disagree_acc: float) -> str | None:
    """'weak', 'strong' or None (not a realistic shortcut model)."""
    if clean_acc < CLEAN_MIN:
        return None
    if WEAK[0] < disagree_acc <= WEAK[1]:
        return "weak"
    if STRONG[0] <= disagree_acc <= STRONG[1]:
        return "strong"
    return None


def labels(half: str) -> dict[str, tuple[str, ...]]:
    """One half's labels, in order, each with its shortcuts."""
    if half in REUSED:
        return REUSED[half]
    return {label: shortcuts for label, (h, shortcuts) in LABELS.items() if h == half}


def cells(half: str) -> list[tuple[Arch, str]]:
    """The (architecture, label) cells of one half."""
    return [(arch, label) for arch in ARCHS if arch.half == half for label in labels(half)]


STEPS = 500
EVAL_EVERY = 25  # held-out checks; a plant keeps the first check in each band from step 100
FIRST_CHECK = 100
AFTER_WEAK = 150  # steps a plant trains on after its weak snapshot, looking for a strong one
MAX_TRIES = 3
# The shortcut's pull, weakest first: (label reliability r, P(shortcut | label) p). With r < 1
# and p = 1 the shortcut predicts the training labels better than the label's own attribute;
# with r = 1 and p < 1 the label is the better cue and a salient shortcut learned first fades.
LEVELS = (
    (1.0, 0.8),
    (1.0, 0.9),
    (1.0, 0.95),
    (1.0, 1.0),
    (0.998, 1.0),
    (0.995, 1.0),
    (0.99, 1.0),
    (0.97, 1.0),
    (0.91, 1.0),
)
FIRST = LEVELS.index((1.0, 1.0))
# Weaker pulls still, tried in order (`train --weaker`) only where a shortcut was used too much
# at every try, the weakest of LEVELS included: ShuffleNetV2 with its loop learnt three of its
# round's six shortcuts that way. Added after that round's search, before any of its audits was
# looked at.
WEAKER = ((1.0, 0.7), (1.0, 0.6))


def next_level(weak: int, strong: int, tried: int, used: bool) -> tuple[int, int, int | None]:
    """Bisect LEVELS after a try at index `tried` that found no band.

    A try that never used the shortcut (accuracy where it disagrees stayed above 0.85) bounds
    the pull from below; one that used it, but never realistically, from above. Returns the
    new bounds and the next index (None: no level left between them).
    """
    weak, strong = (tried, strong) if not used else (weak, tried)
    if strong - weak <= 1:
        return weak, strong, None
    return weak, strong, (weak + strong + 1) // 2 if weak >= 0 else (weak + strong) // 2
