"""The fleet: every drive's life (pods, hazards, retirements, second lives), simulated once."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from drivestats.backblaze.synth.dates import (
    DEFAULT_END,
    DEFAULT_SCALE,
    DEFAULT_SEED,
    DEFAULT_START,
    FIRST_DAY,
    HEADER_ONLY_DAYS,
    LAST_DAY,
    LEGACY_UNTIL_YEAR,
    MAX_SCALE,
)
from drivestats.backblaze.synth.models import (
    BOOT_GROUP,
    DOUBLE_SPACE_MODELS,
    MODELS,
    ModelSpec,
    pod_size,
)
from drivestats.backblaze.synth.smart import FAMILY_NAMES, family_of
from drivestats.errors import DrivestatsError

if TYPE_CHECKING:
    from drivestats.backblaze.synth.days import Layout  # the fleet caches them

# --- the fleet: every drive's life, simulated once --------------------------------


@dataclass(frozen=True)
class SynthParams:
    """What a synthetic fleet is made from; the same params give the same bytes."""

    start: dt.date = DEFAULT_START
    end: dt.date = DEFAULT_END
    scale: float = DEFAULT_SCALE
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        if not FIRST_DAY <= self.start <= self.end <= LAST_DAY:
            raise DrivestatsError(
                f"the range must lie within {FIRST_DAY} .. {LAST_DAY} and start before it ends, "
                f"not {self.start} .. {self.end}"
            )
        if not 0 < self.scale <= MAX_SCALE:
            raise DrivestatsError(
                f"the scale must be above 0 and at most {MAX_SCALE}, not {self.scale}"
            )


@dataclass
class Fleet:
    """Every record (one stretch of reporting by one serial) of the simulated fleet, as arrays."""

    models: tuple[ModelSpec, ...]
    labels: list[str]  # model strings as written; the first len(models) are the clean ones
    serial: pa.StringArray
    label: np.ndarray
    model: np.ndarray
    family: np.ndarray
    pod: np.ndarray
    slot: np.ndarray
    start: np.ndarray  # first reporting day, proleptic ordinal
    end: np.ndarray  # last reporting day
    fails: np.ndarray  # reports failure=1 on its last day
    hours0: np.ndarray  # power-on hours on the first day
    key: np.ndarray  # per-record hash key for deterministic per-day noise
    ramp_start: np.ndarray  # day reallocated sectors start climbing before a failure
    ramp_rate: np.ndarray
    pod_datacenter: np.ndarray
    pod_cluster: np.ndarray
    pod_vault: np.ndarray
    pod_number: np.ndarray
    pod_legacy: np.ndarray
    datacenters: tuple[str, ...]
    seed: int
    layouts: dict[dt.date, Layout] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __len__(self) -> int:
        return len(self.start)


_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def mixed(values: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each value (splitmix64), for noise that needs no random state."""
    x = values.astype(np.uint64) + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _day(text: str) -> int:
    """The ordinal of 'YYYY-MM' (its first day) or 'YYYY-MM-DD'."""
    parts = [int(p) for p in text.split("-")] + [1]
    return dt.date(parts[0], parts[1], parts[2]).toordinal()


def _pods(scale: float, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """Every pod as (model index, size, deploy day, retire day), in deploy order."""
    horizon = LAST_DAY.toordinal() + 1
    pods = []
    for m, spec in enumerate(MODELS):
        for wave in spec.waves:
            first, last = _day(wave.deployed[0]), _day(wave.deployed[1])
            size = BOOT_GROUP if spec.boot else pod_size(dt.date.fromordinal(first))
            whole = wave.drives * scale / size
            sizes = [size] * round(whole) if whole >= 0.5 else []
            if not sizes and wave.drives * scale >= 0.5:
                sizes = [round(wave.drives * scale)]
            if not sizes:
                continue
            deployed = np.sort(rng.integers(first, last + 1, len(sizes)))
            if wave.retired is None:
                retired = np.full(len(sizes), horizon)
            else:
                lo, hi = _day(wave.retired[0]), _day(wave.retired[1])
                retired = np.sort(rng.integers(lo, hi + 1, len(sizes)))
            pods += [
                (m, n, int(d), int(r)) for n, d, r in zip(sizes, deployed, retired, strict=True)
            ]
    pods.sort(key=lambda pod: (pod[2], pod[0]))
    return pods


def _lifetimes(models: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Days until failure, drawn from competing risks: infant, random and wear-out (a bathtub)."""
    n = len(models)
    afr = np.array([s.afr for s in MODELS])[models]
    infant = np.array([s.infant for s in MODELS])[models]
    wear = np.array([s.wear_years for s in MODELS])[models] * 365.25
    shape = np.array([s.wear_shape for s in MODELS])[models]
    young = np.where(rng.random(n) < infant, rng.exponential(40.0, n), np.inf)
    random = rng.exponential(365.25 / afr)
    worn = wear * rng.weibull(shape)
    return np.minimum(np.minimum(young, random), worn)


def _slot_lives(
    slot_model: np.ndarray,
    slot_begin: np.ndarray,
    slot_retire: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Each slot's chain of drives: when one fails, a new one takes its place days later."""
    header_only = np.array(sorted(d.toordinal() for d in HEADER_ONLY_DAYS))
    parts: list[dict[str, np.ndarray]] = []
    chain, begin = np.arange(len(slot_model)), slot_begin
    while len(chain):
        life = _lifetimes(slot_model[chain], rng)
        end = begin + np.minimum(life, 1e6).astype(np.int64)
        end += np.isin(end, header_only)  # a failure is never lost on a header-only day
        fails = end < slot_retire[chain]
        end = np.where(fails, end, slot_retire[chain] - 1)
        parts.append({"slot": chain, "start": begin, "end": end, "fails": fails})
        begin = end[fails] + rng.integers(1, 8, int(fails.sum()))
        chain = chain[fails]
        keep = begin < slot_retire[chain]
        chain, begin = chain[keep], begin[keep]
    lives = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    lives["drive"] = np.arange(len(lives["slot"]))
    lives["hours0"] = rng.integers(0, 200, len(lives["slot"]))
    return lives


def _with_second_lives(
    lives: dict[str, np.ndarray], slot_retire: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Lives plus a rare second one: a failed drive put back to work that fails again."""
    header_only = np.array(sorted(d.toordinal() for d in HEADER_ONLY_DAYS))
    start, end, fails = lives["start"], lives["end"], lives["fails"]
    again = np.flatnonzero(fails & (rng.random(len(fails)) < 0.02))
    again_start = end[again] + rng.integers(10, 90, len(again))
    again_end = again_start + rng.exponential(150.0, len(again)).astype(np.int64) + 1
    again_end += np.isin(again_end, header_only)
    retire = slot_retire[lives["slot"][again]]
    live = again_start < retire
    again, again_start, again_end, retire = (
        x[live] for x in (again, again_start, again_end, retire)
    )
    again_fails = again_end < retire
    # The shelf adds no power-on hours: the second life starts where the first ended.
    hours = lives["hours0"][again] + 24 * (end[again] - start[again]) + 24
    second = {
        "slot": lives["slot"][again],
        "drive": lives["drive"][again],
        "hours0": hours,
        "start": again_start,
        "end": np.where(again_fails, again_end, retire - 1),
        "fails": again_fails,
    }
    return {name: np.concatenate([lives[name], second[name]]) for name in lives}


@lru_cache(maxsize=2)
def fleet(scale: float, seed: int) -> Fleet:
    """The whole simulated fleet from 2008 to 2026 for a scale and a seed."""
    rng = np.random.default_rng([seed, round(scale * 1e9)])
    pods = _pods(scale, rng)
    pod_model = np.array([p[0] for p in pods], dtype=np.int32)
    sizes = np.array([p[1] for p in pods])
    slot_pod = np.repeat(np.arange(len(pods), dtype=np.int32), sizes)
    slot_no = np.concatenate([np.arange(s) for s in sizes]).astype(np.int32)
    slot_model = pod_model[slot_pod]
    slot_retire = np.array([p[3] for p in pods])[slot_pod]
    slot_begin = np.array([p[2] for p in pods])[slot_pod]
    lives = _slot_lives(slot_model, slot_begin, slot_retire, rng)
    lives = _with_second_lives(lives, slot_retire, rng)
    n = len(lives["slot"])
    # A few drives report power-on hours nobody could have (29 years).
    lives["hours0"] = lives["hours0"] + 254_040 * (rng.random(n) < 5e-5)
    # Most failures are announced by reallocated sectors climbing in the last weeks.
    ramped = lives["fails"] & (rng.random(n) < 0.6)
    ramp_days = rng.integers(5, 60, n)
    lives["ramp_start"] = np.where(ramped, lives["end"] - ramp_days, np.iinfo(np.int64).max // 2)
    lives["ramp_rate"] = np.exp(rng.uniform(np.log(8), np.log(2000), n)) / ramp_days

    # Rows come pod by pod, slot by slot, as drives are listed in a day's file.
    slot = lives["slot"]
    keep = lives["end"] >= FIRST_DAY.toordinal()
    order = np.lexsort((lives["start"][keep], slot_no[slot[keep]], slot_pod[slot[keep]]))
    lives = {name: values[np.flatnonzero(keep)[order]] for name, values in lives.items()}
    slot, drive = lives["slot"], lives["drive"]
    model, pod = slot_model[slot], slot_pod[slot]
    labels = [spec.model for spec in MODELS]
    label = model.astype(np.int32).copy()
    for clean, spaced in DOUBLE_SPACE_MODELS.items():
        m = labels.index(clean)
        labels.append(spaced)
        nth_pod = np.cumsum(pod_model == m) - 1  # which of this model's pods
        label[(model == m) & (nth_pod[pod] % 5 == 2)] = len(labels) - 1
    family_index = np.array([FAMILY_NAMES.index(family_of(s)) for s in MODELS], dtype=np.int8)
    datacenter, cluster, vault, number, legacy, names = _locations(pods)
    return Fleet(
        models=MODELS,
        labels=labels,
        serial=_serials(drive, model, seed),
        label=label,
        model=model,
        family=family_index[model],
        pod=pod,
        slot=slot_no[slot],
        start=lives["start"],
        end=lives["end"],
        fails=lives["fails"],
        hours0=lives["hours0"],
        key=mixed(drive.astype(np.uint64) * np.uint64(1_000_003) + np.uint64(seed)),
        ramp_start=lives["ramp_start"],
        ramp_rate=lives["ramp_rate"],
        pod_datacenter=datacenter,
        pod_cluster=cluster,
        pod_vault=vault,
        pod_number=number,
        pod_legacy=legacy,
        datacenters=names,
        seed=seed,
    )


def _serials(drive: np.ndarray, model: np.ndarray, seed: int) -> pa.StringArray:
    """A serial per record: the model's prefix and five base-36 characters, unique per drive."""
    space = 36**5
    # An affine map coprime with 36**5 is a bijection: distinct drives get distinct serials.
    code = (drive.astype(np.int64) * 2_654_435_761 + seed * 7919) % space
    alphabet = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
    chars = np.empty((len(code), 5), dtype=np.uint8)
    for i in range(5):
        chars[:, 4 - i] = alphabet[code % 36]
        code //= 36
    suffix = pa.array(chars.view("S5").ravel()).cast(pa.string())
    prefixes = pa.array([s.serial_prefix for s in MODELS]).take(pa.array(model))
    return pc.binary_join_element_wise(prefixes, suffix, "")


def _locations(
    pods: list[tuple[int, int, int, int]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """Where each pod stands: datacenter, cluster, vault (20 pods each), pod number, legacy flag."""
    names = ("sac0", "sac2", "phx1", "ams5", "iad1")
    deployed = np.array([p[2] for p in pods])
    year = np.array([dt.date.fromordinal(int(d)).year for d in deployed])
    datacenter = np.select(
        [year < 2017, year < 2019, year < 2022, year < 2023],
        [0, 1, 2, 3],
        default=4,
    ).astype(np.int8)
    cluster = np.zeros(len(pods), dtype=np.int32)
    vault = np.zeros(len(pods), dtype=np.int32)
    number = np.zeros(len(pods), dtype=np.int32)
    next_vault = 1000
    for dc in range(len(names)):
        members = np.flatnonzero(datacenter == dc)
        vault[members] = next_vault + np.arange(len(members)) // 20
        number[members] = np.arange(len(members)) % 20
        cluster[members] = 100 * dc + np.arange(len(members)) // 200
        next_vault += (len(members) + 19) // 20
    return datacenter, cluster, vault, number, year < LEGACY_UNTIL_YEAR, names
