"""A synthetic Backblaze fleet, written in Backblaze's exact packaging and CSV format.

The fleet is the project's built-in data and the ground truth for tests: real
model names, capacities and eras; pods of 45 or 60 drives deployed in waves and
retired whole; a bathtub-shaped hazard per model; and every quirk of the real
files on its real date. Beside the zips, ``truth.csv`` holds the counts the
generator knows from its own simulation.

Every day is a pure function of (day, scale, seed): the same options give the
same bytes, and a day does not depend on the range it was written in.

The package follows the making: ``dates`` (the span, defaults and quirk days), ``models``
(the catalog), ``smart`` (attributes per family), ``simulation`` (every drive's life),
``days`` (one day's CSV text) and ``packaging`` (zips and the truth file).
"""

from drivestats.backblaze.synth.dates import (
    DEFAULT_END,
    DEFAULT_SCALE,
    DEFAULT_SEED,
    DEFAULT_START,
    FIRST_DAY,
    LAST_DAY,
    MAX_SCALE,
    TRUTH_COLUMNS,
    TRUTH_FILE,
)
from drivestats.backblaze.synth.models import CAPACITIES, MODELS, ModelSpec
from drivestats.backblaze.synth.packaging import (
    SynthSummary,
    days_between,
    write_fleet,
    zip_name,
)
from drivestats.backblaze.synth.simulation import Fleet, SynthParams, fleet

__all__ = [
    "CAPACITIES",
    "DEFAULT_END",
    "DEFAULT_SCALE",
    "DEFAULT_SEED",
    "DEFAULT_START",
    "FIRST_DAY",
    "LAST_DAY",
    "MAX_SCALE",
    "MODELS",
    "TRUTH_COLUMNS",
    "TRUTH_FILE",
    "Fleet",
    "ModelSpec",
    "SynthParams",
    "SynthSummary",
    "days_between",
    "fleet",
    "write_fleet",
    "zip_name",
]
