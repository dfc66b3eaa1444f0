"""``Client.map``: many requests on a bounded thread pool, paced by the rate-limit headers.

Theory of operation
-------------------
- This is the only place relay_lite starts threads, and only when a run is iterated:
  ``workers`` daemon threads named ``relay-lite-map-N``, all sending through the client's
  one connection pool (``Client.map`` refuses more workers than ``pool_size``, because
  urllib3 would open and close an extra connection per call beyond it).
- The consumer's thread drives the run: it pulls inputs from the caller's iterable
  (never more than ``workers * LOOKAHEAD_PER_WORKER`` unfinished ones, so a 50,000-line
  generator is never read whole), hands them to the workers as tasks, and collects their
  outcomes. It pulls one input per turn and yields what finished in between, but it
  cannot interrupt the iterable: one that blocks (a slow pipe, a paginated API) holds
  back results and the deadline check until it returns. In ordered mode a slow item does
  not stall the others: the run goes on past it until ``workers * HELD_PER_WORKER``
  finished results wait behind it. Progress callbacks run in this thread too, so a
  ``KeyboardInterrupt`` raised by one behaves like Ctrl-C. An exception from the
  iterable stops the run like any other: items handed over but not started end up in
  ``leftovers`` as ``ItemCancelled``.
- One lock guards the run's state; workers wait on ``_work`` (a task, or pacing), the
  consumer on ``_results``. Every wait is bounded, so Ctrl-C is seen promptly everywhere.
- Pacing (``_Pacer``) is shared by all workers. It learns from every reply's and error's
  ``rate_limits``: a request budget (``requests_remaining`` less the other calls in
  flight, spent one per start) until the reported reset, and a pause until the token
  reset when ``tokens_remaining`` drops below one call's average use. A 429 pauses every
  worker for its ``retry-after`` (or the client's backoff) and puts the item back at the
  front of the queue, up to ``max_attempts`` runs (the wait, when the 429 names none, and
  the longest ``retry-after`` obeyed come from the map client's retry policy, not the
  item's); a ``ChatRequest`` is sent with the
  transport's own 429 retries off, so a storm is waited out once, by everyone, rather
  than by each call alone (other items keep their client's retries; a 429 that still
  comes out of them pauses and requeues the same way). Other failures are left to the
  transport's retries. ``max_requests_per_second`` spaces starts evenly. A pause read
  from the headers is capped at the map client's ``max_retry_after`` (a reset hours
  away, or a skewed server clock, must not hold the run) and logged at INFO, once per
  pause, like a 429's.
- A worker records every run of an item, whatever happens: a callable's result whose
  ``rate_limits`` or ``usage`` raises is kept as it is (pacing just learns nothing from
  it), and the rare fault that is not an ``Exception`` becomes the item's error.
- Stopping: breaking out of the loop, ``close()``, Ctrl-C and ``stop_on_error`` stop
  handing out tasks, wait for the calls on the wire to end and join every worker; what
  finished meanwhile and what never started (``ItemCancelled``) is kept in
  ``MapRun.leftovers``, the never-yielded ones before the join. ``close()`` from another
  thread or from the progress callback only sets a stop flag (and wakes every wait): the
  loop ends at its next step and stops the run itself. A second Ctrl-C during the join
  is let through at once: the calls still running are kept as ``ItemCancelled`` with
  reason "abandoned" and their threads, logged, end on their own.
- A ``deadline`` counts from the first ``next()`` (when the run starts), not from
  ``map()``. It is passed down as each ``ChatRequest``'s total timeout, so calls in
  flight end by it; unstarted items are then yielded with a ``DeadlineExceeded`` error.
  Every result goes into the held-back set before any is counted, so a Ctrl-C while
  they are reported loses none.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Deque, Generator, Iterable, Iterator, Optional

from ._config import DEFAULT_MAX_RETRY_AFTER, RetryPolicy, Timeouts
from ._errors import ConfigError, DeadlineExceeded, RateLimitError, RelayError
from ._record import Record

if TYPE_CHECKING:
    from ._chat import ChatRequest
    from ._client import Client
    from ._ratelimits import RateLimits

__all__ = [
    "DEFAULT_MAP_MAX_ATTEMPTS",
    "DEFAULT_MAP_WORKERS",
    "ItemCancelled",
    "MapProgress",
    "MapResult",
    "MapRun",
]

logger = logging.getLogger("relay_lite")

#: Worker threads of a run unless the caller says otherwise.
DEFAULT_MAP_WORKERS = 8
#: Most runs of one item (the first, and requeues after a 429).
DEFAULT_MAP_MAX_ATTEMPTS = 5
#: Inputs pulled ahead of the results yielded, per worker: enough to keep every worker
#: busy while the consumer handles a result, bounded so memory stays flat.
LOOKAHEAD_PER_WORKER = 4
#: Ordered mode: finished results held back behind a slow earlier item, per worker. Up to
#: this many, the run keeps pulling and running inputs past the slow one.
HELD_PER_WORKER = 16
#: Longest single wait of any thread of a run: keeps Ctrl-C and stops prompt.
POLL_SECONDS = 0.1
#: The least total timeout handed to a call near the run's deadline.
MIN_CALL_SECONDS = 0.001


class ItemCancelled(RelayError):
    """An item of a ``map`` run has no outcome: the run stopped before it ran (``reason``
    says why: "closed", "interrupted", "error"), or a second Ctrl-C abandoned its call
    while it was running (``reason`` "abandoned")."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, attempts=0)
        self.reason = reason


class MapResult(Record):
    """The outcome of one input of ``Client.map``.

    ``index`` is the input's position, ``request`` the input itself; ``response`` what it
    returned (a ``ChatResponse``, a ``StructuredResult``, ...) or ``error`` why it failed
    (a ``RelayError`` for relay_lite's calls). ``attempts`` counts the map's runs of the
    item (more than 1 after a 429 requeued it), ``elapsed`` the seconds those runs took.
    """

    index: int
    request: Any
    response: Any = None
    error: Optional[BaseException] = None
    attempts: int = 0
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the item succeeded."""
        return self.error is None

    @property
    def value(self) -> Any:
        """A structured result's value; otherwise the response itself."""
        response = self.response
        # Only a loaded module can have made one: never import it just to ask.
        structured = sys.modules.get("relay_lite._structured")
        if structured is not None and isinstance(response, structured.StructuredResult):
            return response.value
        return response

    def get(self) -> Any:
        """The response, or raise the item's error."""
        if self.error is not None:
            raise self.error
        return self.response

    def __repr__(self) -> str:
        # Milliseconds are all a reader needs of ``elapsed``; the field keeps full precision.
        values = self.__dict__
        shown = ", ".join(
            f"{name}={values[name]:.3f}" if name == "elapsed" else f"{name}={values[name]!r}"
            for name in self._fields
            if name not in self._hidden_in_repr
        )
        return f"{type(self).__name__}({shown})"


class MapProgress(Record):
    """Where a run stands, handed to the ``progress`` callback after each item ends.

    ``done`` counts items finished (failed ones included), ``failed`` those with an
    error, ``in_flight`` the calls on the wire, ``tokens`` the total tokens the finished
    replies reported; ``total`` is the number of inputs when the iterable has a length.
    """

    done: int = 0
    failed: int = 0
    in_flight: int = 0
    tokens: int = 0
    total: Optional[int] = None


def _rate_limits_of(outcome: Any) -> Optional[RateLimits]:
    """The ``RateLimits`` a reply, a structured result or an API error carries (None when
    there are none, or when asking raised: a callable's result may be any object)."""
    from ._ratelimits import RateLimits

    try:
        limits = getattr(outcome, "rate_limits", None)
        if limits is None:  # a StructuredResult: its last reply's
            limits = getattr(getattr(outcome, "response", None), "rate_limits", None)
    except Exception:
        return None
    return limits if isinstance(limits, RateLimits) else None


def _tokens_of(response: Any) -> int:
    """Total tokens a reply (or a structured result, summed over its re-asks) reported
    (0 when asking raised: a callable's result may be any object)."""
    try:
        usage = getattr(response, "usage", None)
        total = getattr(usage, "total_tokens", None)
        if isinstance(total, int):
            return total
        parts = (getattr(usage, "input_tokens", None), getattr(usage, "output_tokens", None))
    except Exception:
        return 0
    return sum(part for part in parts if isinstance(part, int))


class _Pacer:
    """What every worker consults before a start; called with the run's lock held.

    Times are ``time.monotonic()`` readings; rate-limit resets (wall-clock based) are
    converted on arrival.
    """

    def __init__(self, min_interval: float, max_wait: float = DEFAULT_MAX_RETRY_AFTER) -> None:
        self.min_interval = min_interval
        # The longest pause one reply's headers may impose (a reset hours away, a skewed
        # server clock): the window is taken as over then, and the next reply says more.
        self.max_wait = max_wait
        self.announced_until = 0.0  # the end of the last pause logged
        self.next_start = 0.0
        self.paused_until = 0.0
        # The request budget of the current rate-limit window, while one is known.
        self.budget: Optional[int] = None
        self.window_ends = 0.0
        self.tokens_paused_until = 0.0
        self.token_calls = 0
        self.token_sum = 0

    def wait(self, now: float) -> float:
        """Seconds until a start is allowed (0: now)."""
        if self.budget is not None and now >= self.window_ends:
            self.budget = None  # the window refilled; the next reply says by how much
        until = max(self.paused_until, self.tokens_paused_until)
        if self.budget is not None and self.budget <= 0:
            until = max(until, self.window_ends)
        if self.min_interval:
            until = max(until, self.next_start)
        return max(0.0, until - now)

    def take(self, now: float) -> None:
        """A start happened (``wait`` said 0)."""
        if self.budget is not None:
            self.budget -= 1
        if self.min_interval:
            self.next_start = max(now, self.next_start) + self.min_interval

    def learn(self, limits: RateLimits, now: float, others_in_flight: int) -> None:
        """Read one reply's rate limits (``others_in_flight``: calls still on the wire)."""
        age = max(0.0, time.time() - limits.received_at)
        if self.budget is not None and now >= self.window_ends:
            self.budget = None  # that window is over: this reply starts the next
        remaining, reset = limits.requests_remaining, limits.requests_reset
        if remaining is not None and reset is not None and reset > age:
            ends = now + min(reset - age, self.max_wait)
            # The calls still on the wire may not be counted in ``remaining`` yet.
            estimate = remaining - others_in_flight
            if self.budget is None:
                self.budget, self.window_ends = estimate, ends
            else:
                # Within a known window the budget only falls: a late reply may report a
                # count older than what was already spent.
                self.budget = min(self.budget, estimate)
                self.window_ends = max(self.window_ends, ends)
            if self.budget <= 0:
                self._announce("requests", self.window_ends, now, reset - age)
        tokens, tokens_reset = limits.tokens_remaining, limits.tokens_reset
        if tokens is not None and tokens_reset is not None and tokens_reset > age:
            average = self.token_sum / self.token_calls if self.token_calls else 0.0
            if tokens <= 0 or tokens < average:
                until = now + min(tokens_reset - age, self.max_wait)
                self.tokens_paused_until = max(self.tokens_paused_until, until)
                self._announce("tokens", self.tokens_paused_until, now, tokens_reset - age)

    def _announce(self, what: str, until: float, now: float, asked: float) -> None:
        """Log a pause the headers set, once per pause end."""
        if until <= self.announced_until:
            return
        self.announced_until = until
        if asked > self.max_wait:
            logger.info(
                "map: rate-limit headers report no %s left for %.0f s; "
                "every worker pauses %.2f s (capped at max_retry_after)",
                what,
                asked,
                until - now,
            )
        else:
            logger.info(
                "map: rate-limit headers report no %s left; every worker pauses %.2f s", what, until - now
            )

    def count_tokens(self, tokens: int) -> None:
        """A finished call used ``tokens``: the average call's need."""
        if tokens > 0:
            self.token_calls += 1
            self.token_sum += tokens

    def pause(self, until: float) -> None:
        """Every worker waits until ``until`` (a 429's ``retry-after``)."""
        self.paused_until = max(self.paused_until, until)


class _Task:
    __slots__ = ("index", "item", "attempts", "elapsed")

    def __init__(self, index: int, item: Any) -> None:
        self.index = index
        self.item = item
        self.attempts = 0
        self.elapsed = 0.0


def _retry_without_429(request: ChatRequest) -> RetryPolicy:
    """The request's retry policy with 429 left to the map (other statuses unchanged)."""
    params = request.params
    session = request.client.session
    policy = params.retry if isinstance(params.retry, RetryPolicy) else None
    policy = policy or session.default_retry or request.client.config.retry
    return policy.replace(retry_statuses=policy.retry_statuses - {429})


def _timeouts_within(request: ChatRequest, seconds_left: float) -> Timeouts:
    """The request's timeouts with the total cut to end by the run's deadline."""
    params = request.params
    session = request.client.session
    limits = params.timeout if isinstance(params.timeout, Timeouts) else None
    limits = limits or session.default_timeouts or request.client.config.timeouts
    total = max(MIN_CALL_SECONDS, seconds_left)
    if limits.total is not None:
        total = min(total, limits.total)
    return limits.replace(total=total)


class MapRun:
    """The iterator ``Client.map`` returns: one ``MapResult`` per input.

    Use it as a context manager (or ``close()`` it) when you may leave the loop early:
    that stops the run at once and joins its threads (dropping the last reference to
    it does the same). ``close()`` may also be called from another thread or from the
    ``progress`` callback: the loop then ends at its next step. After the run,
    ``progress`` holds the final figures, ``stop_reason`` says why it ended early
    ("deadline", "error", "closed", "interrupted"; None when every input was done) and
    ``leftovers`` holds the results never yielded: calls that finished while the run
    stopped, and items that never ran or were abandoned (their error an
    ``ItemCancelled``), in input order.
    """

    __slots__ = ("_state", "_generator", "_consumer")

    def __init__(self, client: Client, requests: Iterable[Any], **options: Any) -> None:
        self._state = _Run(client, requests, **options)
        self._generator = self._state.results()
        self._consumer: Optional[int] = None  # the thread iterating the run

    @property
    def progress(self) -> MapProgress:
        """The latest figures (the final ones once the run has ended)."""
        return self._state.progress

    @property
    def stop_reason(self) -> Optional[str]:
        """Why the run ended early, or None."""
        return self._state.stop_reason

    @property
    def leftovers(self) -> list[MapResult]:
        """Results never yielded (see the class docstring), in input order."""
        return self._state.leftovers

    def __repr__(self) -> str:
        state = self._state
        return f"MapRun(workers={state._workers}, {state.progress!r}, stop_reason={state.stop_reason!r})"

    def __iter__(self) -> MapRun:
        return self

    def __next__(self) -> MapResult:
        self._consumer = threading.get_ident()
        return next(self._generator)

    def close(self) -> None:
        """Stop the run: no new call starts; calls on the wire end; every thread is joined.

        Safe from any thread and from the ``progress`` callback. Called there (or from a
        thread other than the one iterating), it only asks the run to stop: the loop then
        ends at its next step (within ``POLL_SECONDS``), keeping what was not yielded in
        ``leftovers``, and joins the threads itself.
        """
        self._state.request_close()
        generator = self._generator
        if getattr(generator, "gi_running", False):  # the progress callback, or another thread mid-next()
            return
        if self._consumer is not None and self._consumer != threading.get_ident():
            return  # closing here could race the consumer's next next()
        generator.close()

    def __enter__(self) -> MapRun:
        return self

    def __exit__(self, exc_type: Any, *rest: object) -> None:
        state = self._state
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt) and state.stop_reason is None:
            state.stop_reason = "interrupted"
        self.close()


class _Run:
    """A run's state and its threads; ``MapRun`` is the caller's handle on it.

    The workers and the result generator refer to this object, never to the ``MapRun``:
    so a ``MapRun`` the caller drops (a ``break`` without ``close()``) is freed at once,
    which closes the generator, which stops and joins the workers.
    """

    def __init__(
        self,
        client: Client,
        requests: Iterable[Any],
        *,
        workers: int,
        ordered: bool,
        stop_on_error: bool,
        deadline: Optional[float],
        progress: Optional[Callable[[MapProgress], object]],
        max_attempts: int,
        max_requests_per_second: Optional[float],
    ) -> None:
        self._client = client
        self._workers = workers
        self._ordered = ordered
        self._stop_on_error = stop_on_error
        self._deadline_seconds = deadline
        self._progress_callback = progress
        self._progress_failed = False
        self._max_attempts = max_attempts
        total: Optional[int] = None
        try:
            total = len(requests)  # type: ignore[arg-type]
        except TypeError:
            pass
        self._inputs: Iterator[Any] = iter(requests)
        #: The latest figures (the final ones once the run has ended).
        self.progress = MapProgress(total=total)
        #: Why the run ended early, or None.
        self.stop_reason: Optional[str] = None
        #: Results never yielded (see the class docstring), in input order.
        self.leftovers: list[MapResult] = []

        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._results = threading.Condition(self._lock)
        self._tasks: Deque[_Task] = deque()
        self._outcomes: Deque[MapResult] = deque()
        policy = client.session.default_retry or client.config.retry
        self._pacer = _Pacer(
            1.0 / max_requests_per_second if max_requests_per_second else 0.0, policy.max_retry_after
        )
        self._stopping = False
        self._in_flight = 0
        self._threads: list[threading.Thread] = []
        # Each request client's (or request's own) retry policy with 429 left to the map.
        self._policies: dict[object, RetryPolicy] = {}
        self._deadline: Optional[float] = None
        self._running: dict[int, _Task] = {}  # the tasks on the wire, by index
        self._close_requested = False  # MapRun.close() from the callback or another thread
        self._ended = False  # the result generator has finished

    # -- the consumer's side ----------------------------------------------------------------

    def results(self) -> Generator[MapResult, None, None]:
        """Yield the results; stop everything when closed or left by an exception."""
        if self._deadline_seconds is not None:
            self._deadline = time.monotonic() + self._deadline_seconds
        ordered = self._ordered
        waiting: dict[int, MapResult] = {}  # finished, not yet yielded (ordered: held back)
        next_index = 0  # ordered mode: the index to yield next
        pulled = yielded = 0
        inputs_left = True
        window = self._workers * LOOKAHEAD_PER_WORKER
        held_cap = self._workers * HELD_PER_WORKER
        try:
            while True:
                # At most one input per turn, so results that finished meanwhile are yielded
                # (and the deadline checked) between pulls from a slow iterable. Unfinished
                # items stay within ``window``; ordered mode may run past a slow item until
                # ``held_cap`` results wait behind it.
                pull = (
                    inputs_left
                    and not self._close_requested
                    and pulled - yielded - len(waiting) < window
                    and len(waiting) < held_cap
                    and not self._past_deadline()
                )
                if pull:
                    try:
                        item = next(self._inputs)
                    except StopIteration:
                        inputs_left = False
                    else:
                        with self._lock:
                            self._tasks.append(_Task(pulled, item))
                            self._work.notify()
                        pulled += 1
                        if len(self._threads) < self._workers:
                            self._start_worker()
                batch = self._collect(wait=not pull)
                for result in batch:  # kept first: a raising callback must lose none
                    waiting[result.index] = result
                self._count_all(batch)
                if self._stop_on_error:
                    errors = [result.error for result in batch if result.error is not None]
                    if errors:
                        self.stop_reason = "error"
                        raise errors[0]
                if self._close_requested:  # close() from the callback or another thread
                    return
                while waiting:
                    if ordered:
                        result_or_none = waiting.pop(next_index, None)
                        if result_or_none is None:
                            break
                        next_index += 1
                    else:
                        result_or_none = waiting.pop(next(iter(waiting)))
                    yielded += 1
                    yield result_or_none
                    if self._close_requested:
                        return
                if yielded == pulled and not inputs_left:
                    return
                if self._past_deadline():
                    self.stop_reason = "deadline"
                    self._finish_at_deadline(waiting)
                    for index in sorted(waiting):
                        yield waiting.pop(index)
                    if inputs_left:
                        raise DeadlineExceeded(
                            f"map deadline of {self._deadline_seconds:g} s passed with inputs left: "
                            f"the first {pulled} got their results, the ones after them never ran",
                            attempts=0,
                        )
                    return
        except GeneratorExit:
            if self.stop_reason is None:
                self.stop_reason = "closed"
            raise
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
            raise
        except BaseException:
            if self.stop_reason is None:
                self.stop_reason = "error"
            raise
        finally:
            self._ended = True
            self._shutdown(waiting.values())

    def request_close(self) -> None:
        """``MapRun.close()``: from any thread, stop handing out tasks and end the loop."""
        with self._lock:
            if self._ended:
                return
            self._close_requested = True
            self._stopping = True
            if self.stop_reason is None:
                self.stop_reason = "closed"
            self._work.notify_all()
            self._results.notify_all()

    def _past_deadline(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _collect(self, *, wait: bool = True) -> list[MapResult]:
        """The outcomes that arrived, waiting (a bounded time) for one when there are none
        and ``wait`` is True."""
        with self._lock:
            if wait and not self._outcomes and not self._close_requested and (self._tasks or self._in_flight):
                timeout = POLL_SECONDS
                if self._deadline is not None:
                    timeout = max(0.0, min(timeout, self._deadline - time.monotonic()))
                self._results.wait(timeout)
            outcomes = list(self._outcomes)
            self._outcomes.clear()
        return outcomes

    def _count_all(self, batch: list[MapResult]) -> None:
        """``_count`` each result; when the callback raises (Ctrl-C), count the rest silently."""
        for position, result in enumerate(batch):
            try:
                self._count(result)
            except BaseException:
                for rest in batch[position + 1 :]:
                    self._count(rest, report=False)
                raise

    def _count(self, result: MapResult, *, report: bool = True) -> None:
        """Add a finished item to ``progress``; tell the callback unless ``report`` is False."""
        progress = self.progress
        with self._lock:
            in_flight = self._in_flight
        tokens = progress.tokens + (_tokens_of(result.response) if result.error is None else 0)
        self.progress = MapProgress(
            done=progress.done + 1,
            failed=progress.failed + (result.error is not None),
            in_flight=in_flight,
            tokens=tokens,
            total=progress.total,
        )
        callback = self._progress_callback
        if callback is None or not report:
            return
        try:
            callback(self.progress)
        except Exception:  # a progress bar's bug must not cost the run; Ctrl-C passes through
            if not self._progress_failed:
                self._progress_failed = True
                name = getattr(callback, "__qualname__", type(callback).__name__)
                logger.warning(
                    "relay_lite map progress callback %s raised; ignored (logged once)", name, exc_info=True
                )

    def _finish_at_deadline(self, waiting: dict[int, MapResult]) -> None:
        """Stop at the deadline: unstarted items fail with ``DeadlineExceeded``; wait for the
        calls on the wire (their totals end by the deadline). Every outcome goes into
        ``waiting`` before it is counted, so a Ctrl-C meanwhile loses none."""
        with self._lock:
            self._stopping = True
            unstarted = list(self._tasks)
            self._tasks.clear()
            self._work.notify_all()
        results = []
        for task in unstarted:
            error = DeadlineExceeded(
                f"map deadline of {self._deadline_seconds:g} s passed before this item ran", attempts=0
            )
            results.append(MapResult(task.index, task.item, None, error, task.attempts, task.elapsed))
        for result in results:
            waiting[result.index] = result
        self._count_all(results)
        self._join()
        with self._lock:
            finished = list(self._outcomes)
            self._outcomes.clear()
        for result in finished:
            waiting[result.index] = result
        self._count_all(finished)

    def _keep_leftovers(self, results: Iterable[MapResult]) -> None:
        self.leftovers = sorted([*self.leftovers, *results], key=lambda result: result.index)

    def _shutdown(self, unyielded: Iterable[MapResult]) -> None:
        """Stop handing out tasks, join the workers, keep what was never yielded."""
        with self._lock:
            self._stopping = True
            unstarted = list(self._tasks)
            self._tasks.clear()
            self._work.notify_all()
        reason = self.stop_reason or "closed"
        kept = list(unyielded)
        for task in unstarted:
            error = ItemCancelled(f"the map run stopped ({reason}) before this item ran", reason=reason)
            kept.append(MapResult(task.index, task.item, None, error, task.attempts, task.elapsed))
        if kept:  # kept before the join: a second Ctrl-C during it loses none of them
            self._keep_leftovers(kept)
        try:
            self._join()
        except KeyboardInterrupt:
            self._abandon()
            raise
        self._keep_finished()

    def _keep_finished(self) -> list[_Task]:
        """Keep (and count) the outcomes that arrived; return the tasks still running."""
        with self._lock:
            finished = list(self._outcomes)
            self._outcomes.clear()
            running = sorted(self._running.values(), key=lambda task: task.index)
            in_flight = self._in_flight
        for result in finished:  # counted in the final figures; no callback while stopping
            self._count(result, report=False)
        if finished:
            self._keep_leftovers(finished)
        self.progress = self.progress.replace(in_flight=in_flight)
        return running

    def _abandon(self) -> None:
        """A second Ctrl-C during the join: keep what finished, record the calls still
        running as abandoned and leave their threads to end on their own."""
        running = self._keep_finished()
        abandoned = []
        for task in running:
            error = ItemCancelled(
                "the map run was interrupted again while this item's call was running; "
                "its outcome is abandoned",
                reason="abandoned",
            )
            abandoned.append(MapResult(task.index, task.item, None, error, task.attempts, task.elapsed))
        if abandoned:
            self._keep_leftovers(abandoned)
        alive = sum(1 for thread in self._threads if thread.is_alive())
        logger.warning(
            "map: interrupted again while stopping; %d call(s) abandoned, %d worker thread(s) "
            "left to end on their own",
            len(abandoned),
            alive,
        )

    def _join(self) -> None:
        """Wait for every worker to end (in short waits, so Ctrl-C still gets through)."""
        for thread in self._threads:
            while thread.is_alive():
                thread.join(POLL_SECONDS)

    # -- the workers' side ----------------------------------------------------------------

    def _start_worker(self) -> None:
        thread = threading.Thread(
            target=self._worker, name=f"relay-lite-map-{len(self._threads) + 1}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _next_task(self) -> Optional[_Task]:
        """The next task once pacing allows a start, or None when the run stops."""
        pacer = self._pacer
        with self._lock:
            while True:
                if self._stopping:
                    return None
                now = time.monotonic()
                if self._deadline is not None and now >= self._deadline:
                    return None  # the consumer reports what is left
                if not self._tasks:
                    self._work.wait(POLL_SECONDS)
                    continue
                wait = pacer.wait(now)
                if wait > 0:
                    self._work.wait(min(wait, POLL_SECONDS))
                    continue
                pacer.take(now)
                self._in_flight += 1
                task = self._tasks.popleft()
                self._running[task.index] = task
                return task

    def _worker(self) -> None:
        while True:
            task = self._next_task()
            if task is None:
                return
            task.attempts += 1
            started = time.monotonic()
            response: Any = None
            error: Optional[BaseException] = None
            try:
                response = self._call(task.item)
            except BaseException as exc:  # the item's outcome, whatever it is: nothing lost
                error = exc
            task.elapsed += time.monotonic() - started
            self._finished(task, response, error)

    def _call(self, item: Any) -> Any:
        from ._chat import ChatRequest

        if isinstance(item, ChatRequest):
            request = item.with_params(retry=self._policy_for(item))
            if self._deadline is not None:
                left = self._deadline - time.monotonic()
                request = request.with_params(timeout=_timeouts_within(item, left))
            return request.send()
        send = getattr(item, "send", None)
        if callable(send):
            return send()
        if callable(item):
            return item()
        raise ConfigError(
            f"map() runs ChatRequests, objects with a send() method or callables, got {type(item).__name__}"
        )

    def _policy_for(self, request: ChatRequest) -> RetryPolicy:
        """``_retry_without_429``, made once per distinct policy (a replace validates)."""
        params = request.params
        key = params.retry if isinstance(params.retry, RetryPolicy) else request.client
        policy = self._policies.get(key)
        if policy is None:
            policy = self._policies[key] = _retry_without_429(request)
        return policy

    def _finished(self, task: _Task, response: Any, error: Optional[BaseException]) -> None:
        """Record a run of ``task``: always, or the item would be lost and the run hang."""
        try:
            limits = _rate_limits_of(error if error is not None else response)
            tokens = _tokens_of(response) if error is None else 0
        except BaseException as fault:  # the helpers swallow Exceptions; this is the rest
            limits, tokens = None, 0
            if error is None:
                response, error = None, fault
        with self._lock:
            now = time.monotonic()
            self._in_flight -= 1
            self._running.pop(task.index, None)
            pacer = self._pacer
            try:
                if limits is not None:
                    pacer.learn(limits, now, self._in_flight)
                    self._work.notify_all()  # the budget or a pause changed for waiting workers
                if error is None:
                    pacer.count_tokens(tokens)
                elif self._requeue(task, error, now):
                    self._work.notify_all()
                    return
            except Exception:  # a pacing fault must neither lose the item nor stall the run
                logger.warning("map: pacing failed after item %d; ignored", task.index, exc_info=True)
            self._outcomes.append(
                MapResult(task.index, task.item, response, error, task.attempts, task.elapsed)
            )
            self._results.notify()

    def _requeue(self, task: _Task, error: BaseException, now: float) -> bool:
        """After a 429: pause every worker and put the item back first in line, when
        another run may succeed (lock held)."""
        if not isinstance(error, RateLimitError) or error.quota_exhausted:
            return False
        if self._stopping or task.attempts >= self._max_attempts:
            return False
        from ._transport import parse_retry_after

        policy = self._client.session.default_retry or self._client.config.retry
        wait = parse_retry_after(error.headers)
        if wait is None:
            wait = policy.backoff_delay(task.attempts)
        elif wait > policy.max_retry_after:
            return False  # as the transport does: a longer demand fails the call at once
        until = now + wait
        if self._deadline is not None and until >= self._deadline:
            return False
        self._pacer.pause(until)
        self._tasks.appendleft(task)
        logger.info("map: 429 on item %d; every worker pauses %.2f s", task.index, wait)
        return True
