"""One progress bar per job, its total fixed before the work starts, shared out over the steps.

A long job (populating a room) runs steps whose sizes are not known in advance (how many
candidates a round scores, whether someone needs a retry). Rather than growing the bar's total
as the work appears, the job gives each step a fixed share of the bar (:meth:`Progress.parts`):
a step advances through its share as it works (:meth:`Progress.counter` for a count of items),
and a step that ends early or is skipped jumps to its end. The bar so reads 0..100 % from the
first moment, and never goes back.

    progress = Progress.bar("populate", enabled=True)
    maps, rounds = progress.parts([0.2, 0.8])
    counter = maps.counter(len(bodies))
    for body in bodies:
        ...
        counter.update(1)
    maps.finish()
    progress.close()

``report``: an optional callable taking the fraction done (0..1), for front ends that draw their
own bar (Blender's window-manager progress).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["Progress"]

_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]"


class _Bar:
    """The shared state: a tqdm bar over 0..1 (or none) and the optional ``report``."""

    def __init__(self, desc: str, enabled: bool, report: Callable[[float], None] | None):
        self.done = 0.0
        self.report = report
        self.tqdm = None
        if enabled:
            from tqdm.auto import tqdm

            self.tqdm = tqdm(total=1000, desc=desc, bar_format=_FORMAT, dynamic_ncols=True)

    def move_to(self, done: float) -> None:
        done = min(max(done, self.done), 1.0)
        if done <= self.done:
            return
        if self.tqdm is not None:
            self.tqdm.update(round(1000 * done) - round(1000 * self.done))
        self.done = done
        if self.report is not None:
            self.report(done)


class Progress:
    """A share ``[start, start + size)`` of a job's bar (see the module docstring)."""

    def __init__(self, bar: _Bar, start: float = 0.0, size: float = 1.0):
        self._bar, self.start, self.size = bar, start, size

    @classmethod
    def bar(cls, desc: str, enabled: bool = True,
            report: Callable[[float], None] | None = None) -> Progress:
        """The whole bar of a new job (a tqdm bar when ``enabled``)."""
        return cls(_Bar(desc, enabled, report))

    @classmethod
    def off(cls) -> Progress:
        """A bar that shows nothing."""
        return cls(_Bar("", False, None))

    @classmethod
    def of(cls, progress: bool | Progress | None, desc: str) -> Progress:
        """``progress`` if it is a share already, else a new bar (True) or none."""
        if isinstance(progress, Progress):
            return progress
        return cls.bar(desc) if progress else cls.off()

    def parts(self, weights: Sequence[float]) -> list[Progress]:
        """This share cut into consecutive shares in proportion to ``weights``."""
        total = float(sum(weights)) or 1.0
        out, at = [], self.start
        for w in weights:
            size = self.size * float(w) / total
            out.append(Progress(self._bar, at, size))
            at += size
        return out

    def advance_to(self, fraction: float) -> None:
        """Move the bar to ``fraction`` (0..1) of this share (never back)."""
        self._bar.move_to(self.start + self.size * min(max(fraction, 0.0), 1.0))

    def finish(self) -> None:
        """This share is done (a step that ends early jumps to its end)."""
        self.advance_to(1.0)

    def counter(self, total: int | float) -> _Counter:
        """An object with ``update(n)`` (tqdm's interface) that spreads ``total`` items over
        this share."""
        return _Counter(self, total)

    def describe(self, text: str) -> None:
        """Show what the job is doing now."""
        if self._bar.tqdm is not None:
            self._bar.tqdm.set_description_str(text, refresh=False)

    def note(self, text: str) -> None:
        """Show a short status after the bar (e.g. "placed 12/40")."""
        if self._bar.tqdm is not None:
            self._bar.tqdm.set_postfix_str(text, refresh=False)

    def close(self, complete: bool = True) -> None:
        """Close the bar, filled when the job is ``complete`` (left where it was when the job
        failed)."""
        if complete:
            self._bar.move_to(1.0)
        if self._bar.tqdm is not None:
            self._bar.tqdm.close()
            self._bar.tqdm = None


class _Counter:
    def __init__(self, share: Progress, total: int | float):
        self.share, self.total, self.n = share, max(float(total), 1e-12), 0.0

    def update(self, n: int | float = 1) -> None:
        self.n += n
        self.share.advance_to(self.n / self.total)
