"""Zoph & Le (ICLR 2017) macro space: a stack of L conv layers chosen layer by layer.

Per layer (values from lists, not ranges, as in the paper's CIFAR-10 search): filter
height and width in [1, 3, 5, 7], number of filters in [24, 36, 48, 64], stride height
and width in [1, 2, 3] (only with ``strides=true``; the default keeps stride 1, as the
paper's main CIFAR-10 runs), and, with ``skips=true``, one binary anchor-point decision
per earlier layer: "does layer j feed this layer?" (Sec. 3.3). See ``macro_net`` for
how inputs are concatenated and padded and what a layer with no input takes.

Decision order per layer: fh, fw, nf, [sh, sw], [in0, in1, ..., in{i-1}]. The string
shows values, not indices, and is the same whatever the settings:
``L0:fh3,fw5,nf36,sh1,sw1,in[]|L1:fh1,fw7,nf24,sh1,sw1,in[0]|...``. Without
``strides`` the strides must read 1; without ``skips`` each layer takes the previous
one (``in[i-1]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from ...errors import ConfigError
from ..base import SPACES, Arch, Decision
from . import macro_net
from .common import SpaceBase, bad_string

_EXAMPLE = "L0:fh3,fw5,nf36,sh1,sw1,in[]|L1:fh1,fw7,nf24,sh1,sw1,in[0]"
_LAYER = re.compile(r"^L(\d+):fh(\d+),fw(\d+),nf(\d+),sh(\d+),sw(\d+),in\[([0-9,]*)\]$")


@dataclass
class MacroSettings:
    """Number of ``layers`` and the value lists of each decision (Zoph & Le 2017, Sec. 4)."""

    layers: int = 6
    filter_heights: tuple[int, ...] = (1, 3, 5, 7)
    filter_widths: tuple[int, ...] = (1, 3, 5, 7)
    num_filters: tuple[int, ...] = (24, 36, 48, 64)
    strides: bool = False
    stride_values: tuple[int, ...] = (1, 2, 3)
    skips: bool = True

    def validate(self) -> None:
        if self.layers < 1:
            raise ConfigError(f"macro: layers must be >= 1 (got {self.layers})")
        for key in ("filter_heights", "filter_widths", "num_filters", "stride_values"):
            vals = tuple(getattr(self, key))
            if not vals or any(v < 1 for v in vals) or len(set(vals)) != len(vals):
                raise ConfigError(f"macro: {key} must be distinct positive integers (got {list(vals)})")


@SPACES.register("macro", help="Zoph & Le 2017: L conv layers (kernel, filters, strides, skips)")
class MacroSpace(SpaceBase):
    """The Zoph & Le layer-by-layer space (see the module docstring)."""

    name = "macro"
    Settings: ClassVar[type] = MacroSettings
    builder = macro_net

    def decisions(self) -> list[Decision]:
        st = self.settings
        ds: list[Decision] = []
        for i in range(st.layers):
            ds += [
                Decision(f"L{i}.fh", tuple(st.filter_heights)),
                Decision(f"L{i}.fw", tuple(st.filter_widths)),
                Decision(f"L{i}.nf", tuple(st.num_filters)),
            ]
            if st.strides:
                ds += [Decision(f"L{i}.sh", tuple(st.stride_values)), Decision(f"L{i}.sw", tuple(st.stride_values))]
            if st.skips:
                ds += [Decision(f"L{i}.in{j}", (0, 1)) for j in range(i)]
        return ds

    def anchor_points(self) -> list[tuple[int, list[int]]]:
        """Per layer i: (index of its last non-skip decision, indices of its skip
        decisions in0..in{i-1}) -- where Zoph & Le's controller places layer i's anchor
        point and which decisions its attention makes (``[]`` without ``skips``)."""
        if not self.settings.skips:
            return []
        names = [d.name for d in self.decisions()]
        out = []
        for i in range(self.settings.layers):
            skips = [names.index(f"L{i}.in{j}") for j in range(i)]
            own = [k for k, n in enumerate(names) if n.startswith(f"L{i}.") and k not in skips]
            out.append((max(own), skips))
        return out

    def layer_values(self, arch: Arch) -> list[dict[str, Any]]:
        """Per layer: fh, fw, nf, sh, sw (values) and inputs (earlier layer indices)."""
        self.validate(arch)
        names = [d.name for d in self.decisions()]
        vals = {n: d.choices[a] for n, d, a in zip(names, self.decisions(), arch)}
        out = []
        for i in range(self.settings.layers):
            if self.settings.skips:
                inputs = [j for j in range(i) if vals[f"L{i}.in{j}"] == 1]
            else:
                inputs = [i - 1] if i else []
            out.append(
                {
                    "fh": vals[f"L{i}.fh"],
                    "fw": vals[f"L{i}.fw"],
                    "nf": vals[f"L{i}.nf"],
                    "sh": vals.get(f"L{i}.sh", 1),
                    "sw": vals.get(f"L{i}.sw", 1),
                    "inputs": inputs,
                }
            )
        return out

    def to_string(self, arch: Arch) -> str:
        return "|".join(
            f"L{i}:fh{v['fh']},fw{v['fw']},nf{v['nf']},sh{v['sh']},sw{v['sw']},in[{','.join(map(str, v['inputs']))}]"
            for i, v in enumerate(self.layer_values(arch))
        )

    def from_string(self, s: str) -> Arch:
        st = self.settings
        parts = s.strip().split("|")
        if len(parts) != st.layers:
            raise bad_string(self.name, s, f"need {st.layers} layers separated by '|', got {len(parts)}", _EXAMPLE)
        arch: list[int] = []
        for i, part in enumerate(parts):
            m = _LAYER.match(part.strip())
            if not m:
                raise bad_string(self.name, s, f"layer {part!r} is not Li:fhH,fwW,nfF,shS,swS,in[j,...]", _EXAMPLE)
            if int(m.group(1)) != i:
                raise bad_string(self.name, s, f"layer {i} is labelled L{m.group(1)}", _EXAMPLE)
            fh, fw, nf, sh, sw = (int(m.group(k)) for k in range(2, 7))
            inputs = [int(x) for x in m.group(7).split(",") if x != ""]
            for key, v, allowed in (
                ("fh", fh, st.filter_heights),
                ("fw", fw, st.filter_widths),
                ("nf", nf, st.num_filters),
            ):
                if v not in allowed:
                    raise bad_string(self.name, s, f"layer {i}: {key}{v} not in {list(allowed)}", _EXAMPLE)
                arch.append(list(allowed).index(v))
            if st.strides:
                for key, v in (("sh", sh), ("sw", sw)):
                    if v not in st.stride_values:
                        raise bad_string(self.name, s, f"layer {i}: {key}{v} not in {list(st.stride_values)}", _EXAMPLE)
                    arch.append(list(st.stride_values).index(v))
            elif (sh, sw) != (1, 1):
                raise bad_string(self.name, s, f"layer {i}: strides are fixed at 1 (set strides=true)", _EXAMPLE)
            if sorted(set(inputs)) != inputs or any(j >= i for j in inputs):
                raise bad_string(self.name, s, f"layer {i}: inputs must be increasing earlier layers, got {inputs}", _EXAMPLE)
            if st.skips:
                arch += [1 if j in inputs else 0 for j in range(i)]
            elif inputs != ([i - 1] if i else []):
                raise bad_string(self.name, s, f"layer {i}: without skips the input is the previous layer", _EXAMPLE)
        return tuple(arch)

    def spec(self, arch: Arch) -> dict[str, Any]:
        return {"layers": self.layer_values(arch)}
