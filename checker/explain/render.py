"""Words for anomalies: the sentences of every claim, rendered as plain text, Markdown or HTML.

An :class:`~redlin.explain.anomalies.Anomaly` (or a :class:`~redlin.explain.anomalies.Note`) names
its ``claim``; :data:`CLAIMS` holds that claim's sentence as a template whose fields are the
anomaly's facts, with a *form* after the colon saying how to cite the fact: ``{reader:client}``
is the reading operation's client, ``{reader:span}`` its interval, ``{reader}`` its client and
command.  The renderers differ only in how a piece looks -- plain, Markdown code spans, or HTML
elements that let the page highlight the operations a sentence names -- so the three formats
always say the same thing.

Forms, by fact type:

``Op``
    (none) ``client 1's SET k 1``; ``client``; ``command``; ``described`` (command and reply);
    ``span`` (``4–5 ms``); ``invoke``; ``complete``; ``at`` (``at 4–5 ms``); ``named``
    (``client 1's SET k 1 (4–5 ms)``); ``listed`` (``client 1: SET k 1 -> OK (4–5 ms)``); ``id``.
``Count``
    (none) ``2 operations``; ``n`` (the number alone).
``Message``
    (none) ``message "a" on ch``; ``published`` (``message "a" published on ch``); ``payload``.
``Subscription``
    (none) ``client 1 to channel ch``; ``what`` (``channel ch``); ``client``.
``Listing``
    its items, each in the form given, joined by its separator (``none`` if empty).

>>> from redlin.explain.anomalies import Anomaly, Key, Op, Value
>>> from redlin.explain.names import Clock, Names
>>> reader = Op(5, 3, "GET k", 'GET k -> "5"', 12_400_000, 12_600_000)
>>> anomaly = Anomaly.of("impossible-reply", "never-written", reader=reader, value=Value('"5"'), key=Key("k"))
>>> names = Names(Clock(0, "ns"))
>>> print(render_anomaly(anomaly, names, TEXT))
Impossible reply: client 3 read "5" from k (12.4–12.6 ms), but no operation ever wrote "5" to k.
>>> print(render_anomaly(anomaly, names, MARKDOWN))
**Impossible reply:** client 3 read `"5"` from `k` (12.4–12.6 ms), but no operation ever wrote `"5"` to `k`.
>>> render_anomaly(anomaly, names, HTML).split(" read ")[0]
'<strong>Impossible reply:</strong> <span class="op-ref" data-op="5">client 3</span>'
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from string import Formatter

from redlin.explain.anomalies import (
    NO_VALID_ORDER,
    Anomaly,
    Code,
    Count,
    Fact,
    Key,
    Listing,
    Message,
    Note,
    Op,
    Subscription,
    Text,
    Time,
    Value,
)
from redlin.explain.names import Names, client_name, plural

__all__ = ["CLAIMS", "HTML", "MARKDOWN", "TEXT", "Format", "render", "render_anomaly"]


# ----------------------------------------------------------------------------- the sentences

_WROTE_AT = "that write began at {writer:invoke}, "
_TAILS = {
    "initial-value": "that write completed at {writer:complete}, before the read began, and nothing set {key} "
                     "back to {value} (its initial value) afterwards.",
    "initial-nil": "that write completed at {writer:complete}, before the read began, and nothing deleted {key} "
                   "afterwards.",
    "one-write": _WROTE_AT + "after the only write of {value} ({source}) had returned at {returned}, and "
                 "completed at {writer:complete}, before the read began.",
    "every-write": _WROTE_AT + "after every write of {value} had returned (the last, {source}) at {returned}, and "
                   "completed at {writer:complete}, before the read began.",
}
_STALE = {
    "overwritten-read": "{reader:client} read {value} from {key} ({reader:span}), but {writer} had overwritten it: ",
    "deleted-read": "{reader:client} read {value} from {key} ({reader:span}), but {writer} had deleted it: ",
}
_TORN = ("{tx} ({tx:span}) sets {a} = {a_value} and {b} = {b_value} in one EXEC, and nothing else writes "
         "{a} = {a_value}, but ")
_TORN_END = ": only part of the transaction. EXEC applies all its commands at once, so no reader may see some of " \
            "its writes without the others."
_NIL_EXEC = ("{exec:client} WATCHed {keys} at {watch:invoke} and its EXEC returned nil ({exec:command}, "
             "{exec:span}), but no operation could have modified {keys} between that WATCH and the EXEC")
_NIL_EXEC_END = ". EXEC aborts with nil only when a watched key was modified after WATCH."
_LINEARIZABLE_END = (" has an order of its operations that respects real time and in which the model gives every "
                     "observed reply ({replies} in all). The witness order is shown; indeterminate operations it "
                     "leaves out are taken never to have happened.")
_NEVER_DELIVERED = "{lost:published} by {publish:client} {publish:at} was never delivered to {subscription:client}"
_BEFORE_REPLY = (": it did not come even before the reply to its later {reply:command} ({reply:span}), and Redis "
                 "writes a reply after the messages already queued for the connection.")
_SEARCH = ("The checker's longest linearization of this part places {placed} (state then: {state}); operation "
           "{op:id}, {op:client}'s {op:described} ({op:span}), cannot be placed next")

CLAIMS: dict[str, str] = {
    # --- impossible replies
    "never-written": "{reader:client} read {value} from {key} ({reader:span}), but no operation ever wrote {value} "
                     "to {key}.",
    "read-from-the-future": "{reader:client} read {value} from {key} at {reader:invoke}, but the only write of "
                            "{value} ({writer}) was invoked at {writer:invoke}, after that read had returned at "
                            "{reader:complete}.",
    "read-from-the-future/every-write": "{reader:client} read {value} from {key} at {reader:invoke}, but every write "
                                        "of {value} ({writer}) was invoked at {writer:invoke} or later, after that "
                                        "read had returned at {reader:complete}.",
    "conformance/alone": "{op:client} sent {command} ({op:span}) and got {got}, a reply that the history's other "
                         "operations, in any order or left out, cannot lead to (from an empty keyspace Redis "
                         "replies {expected}). No race is involved: the server answered this command unlike Redis.",
    "conformance/sequential": "{op:client} sent {before:command}, one after another, then {command} ({op:span}), "
                              "and got {got}, where Redis replies {expected} to that sequence. No race is "
                              "involved: no order of the other operations explains it.",
    "alone": "{op:client}'s {op:described} ({op:span}) cannot be explained by any order of the operations, even if "
             "every other one took effect at any time after its invocation or not at all.",
    # --- stale reads
    # A key a DEL overwrote cannot have been read as the initial nil: "deleted" goes with written values.
    **{f"{head}/{tail}": _STALE[head] + _TAILS[tail] for head in _STALE for tail in _TAILS
       if head == "overwritten-read" or tail.endswith("-write")},
    "read-after-newer-read/initial": "{later:client} read {value} from {key} ({later:span}), after {earlier:client} "
                                     "had already read the newer {newer} ({earlier:span}); it was the initial value "
                                     "and nothing wrote it again, so once {newer} was visible {value} could not "
                                     "come back.",
    "read-after-newer-read": "{later:client} read {value} from {key} ({later:span}), after {earlier:client} had "
                             "already read the newer {newer} ({earlier:span}); every write of {value} had completed "
                             "by {returned}, before that earlier read began, so once {newer} was visible {value} "
                             "could not come back.",
    # --- lost updates
    "lost-compare-and-set": "{first} ({first:span}) and {second} ({second:span}) both succeeded, but after either "
                            "one the register no longer held {value}, and no write of {value} could come between "
                            "them: one update was lost.",
    "lost-increment": "{first:client}'s {command} ({first:span}) and {second:client}'s {command} ({second:span}) "
                      "both returned {reply}: each applied to the same value of {key}, so one of the two updates "
                      "was lost.",
    "lost-watched-update": "{tx1:client} and {tx2:client} both WATCHed {key} and read {value} from it "
                           "({tx1:client} at {read1:span}, {tx2:client} at {read2:span}), and both of their "
                           "transactions committed ({tx1:client}'s EXEC {tx1:span}, {tx2:client}'s {tx2:span}). "
                           "Whichever EXEC ran second should have returned nil, because the first had modified "
                           "{key} after the second client's WATCH: one update was lost.",
    # --- transactions
    "nil-exec/unwatched": "{exec:client}'s EXEC returned nil ({exec:command}, {exec:span}), but that client watched "
                          "no key: EXEC aborts with nil only when a key WATCHed before it was modified.",
    "nil-exec": _NIL_EXEC + _NIL_EXEC_END,
    "nil-exec/written-before": _NIL_EXEC + " ({last} completed at {last:complete}, before the WATCH was sent)"
                               + _NIL_EXEC_END,
    "nil-exec/only-reads": _NIL_EXEC + " (the other operations in between only read: {readers:named})"
                           + _NIL_EXEC_END,
    "interleaved-transaction": "{tx:client}'s transaction ({tx:command}, {tx:span}) got {before} from {first} and "
                               "then {after} from {second}: another command changed {key} in between, but EXEC runs "
                               "its queued commands with nothing in between.",
    "torn-read/one-reader": _TORN + "{reader} ({reader:span}) saw {a} = {saw_a} with {b} = {saw_b}" + _TORN_END,
    "torn-read/two-readers": _TORN + "{first:client} read {a} = {saw_a} ({first:span}) and then {second:client} "
                             "read {b} = {saw_b} ({second:span})" + _TORN_END,
    "intermediate-read": "{reader:client} read {value} from {key} ({reader:span}), a value {key} held only inside "
                         "{tx} ({tx:span}): between its {before} and its {after}. EXEC runs its queued commands at "
                         "once, so no reader may see the state between two of them.",
    # --- Pub/Sub
    "phantom/never-published": "{reader:client} read a {message} ({reader:span}), but no PUBLISH of the history "
                               "could have sent it: a subscriber receives only what was published.",
    "phantom/pattern-mismatch": "{reader:client} read a {message} ({reader:span}), but no PUBLISH of the history "
                                "could have sent it (the pattern {pattern} does not match the channel it was "
                                "published to): a subscriber receives only what was published.",
    "phantom/published-later": "{reader:client} read a {message} by {reader:complete}, but {publish} "
                               "({publish:span}), the only one that could send it, began later.",
    "phantom/not-subscribed": "{reader:client} read a {message} ({reader:span}), but it was not subscribed to "
                              "{subscription:what} at any moment while the PUBLISH that could send it ran "
                              "({publish:named}).",
    "phantom/not-subscribed-any": "{reader:client} read a {message} ({reader:span}), but it was not subscribed to "
                                  "{subscription:what} at any moment while any PUBLISH that could send it ran "
                                  "({publish:named}).",
    "duplicate/one-publish": "{reader:client} read the {message} {copies:n} times ({times:span}), but only "
                             "{publish:named} sent it: each PUBLISH reaches a subscription once.",
    "duplicate/publishes": "{reader:client} read the {message} {copies:n} times ({times:span}), but only {sources} could "
                           "send it: each PUBLISH reaches a subscription once.",
    "reordered/pattern-first": "{later:client} read the {late} ({later:span}) before the {early} ({earlier:span}), "
                               "which the same PUBLISH sent: Redis writes a channel's message before its pattern "
                               "messages.",
    "reordered/publish-order": "{later:client} read the {late} ({later:span}) before the {early} ({earlier:span}), "
                               "but {first:named} completed before {second:named} began: Redis writes to a "
                               "connection in the order it runs the PUBLISHes.",
    "reordered/two-subscribers": "{one:client} read the {x} before the {y}, and {two:client} read them the other "
                                 "way round (from {two:invoke}): subscribers of one server see one order of "
                                 "PUBLISHes.",
    "reordered/split-publish": "{first:client} read the {first_message} ({first:span}) and the {last_message} "
                               "({last:span}), which one PUBLISH sent, with the {other_message} ({other:span}) in "
                               "between: Redis writes all the messages of one PUBLISH to a connection at once.",
    "receivers/too-many": "{publish:named} returned {count}, but at most {possible} could have received it while "
                          "it ran ({listed}): PUBLISH counts the subscriptions it reached.",
    "receivers/too-few": "{publish:named} returned {count}, but {certain} existed for its whole duration "
                         "({listed}): PUBLISH counts the subscriptions it reached.",
    "lost/before-a-reply": _NEVER_DELIVERED + ", which was subscribed to {subscription:what} from {since} until "
                           "{until}" + _BEFORE_REPLY,
    "lost/before-a-reply/to-the-end": _NEVER_DELIVERED + ", which was subscribed to {subscription:what} from "
                                      "{since} until the end" + _BEFORE_REPLY,
    "lost/between-reads": _NEVER_DELIVERED + ": it read the {first_message} ({first:span}) and later the "
                          "{last_message} ({last:span}) with no reply of its own in between, so it stayed subscribed "
                          "to {subscription:what}, and that PUBLISH ran after the first was published and before "
                          "the second.",
    "lost/sibling": _NEVER_DELIVERED + ", although the same PUBLISH sent it the {message} it read ({read:span}); "
                    "with no reply of its own in between it also read the {evidence_message} ({evidence:span}), so "
                    "it was subscribed to {subscription:what} all along.",
    "lost/sibling-in-exec": _NEVER_DELIVERED + ", although a later PUBLISH of the same EXEC sent it the {message} "
                            "it read ({read:span}); with no reply of its own in between it also read the "
                            "{evidence_message} ({evidence:span}), so it was subscribed to {subscription:what} all "
                            "along.",
    # --- no anomaly recognised
    "no-valid-order": "No order of these operations explains all their replies: {ops:listed}.",
    "no-valid-order/more": "No order of these operations explains all their replies: {ops:listed}; and {more:n} "
                           "more.",
    "no-valid-order/not-minimised": "No order of this part's operations explains {ops:listed}; the counterexample "
                                    "was not minimised.",
    # --- notes
    "linearizable": "Linearizable: each of the {parts}" + _LINEARIZABLE_END,
    "linearizable/one-part": "Linearizable: the history" + _LINEARIZABLE_END,
    "unknown": "Unknown: {reason} before a verdict was proved; {checked:n} of {total} were proved linearizable and "
               "no violation was found so far.",
    "unknown/one-part": "Unknown: {reason} before a verdict was proved; no violation was found so far.",
    "minimal-counterexample": "Minimal counterexample: {size} that cannot be explained even if every other "
                              "operation of the history may or may not have happened, at any time after its "
                              "invocation.",
    "search-stuck": _SEARCH + ".",
    "search-stuck/expected": _SEARCH + ": there {expected}.",
    "pre-check": "The checker's pre-check found {op:client}'s operation {op:id} impossible by itself, before any "
                 "search.",
    "fast-proof/stale": "Found without a search: {earlier:client}'s operation {earlier:id} completed before "
                        "{op:client}'s operation {op:id} began, and the string {op:id} read cannot come back after "
                        "the one {earlier:id} read (the write it starts with ran once, and nothing written is "
                        "empty).",
    "fast-proof/fork": "Found without a search: {earlier:client}'s operation {earlier:id} and {op:client}'s "
                       "operation {op:id} read strings that part ways after the same write, which ran once: no "
                       "order of the writes leads to both.",
    "fast-proof/repeat": "Found without a search: {earlier:client}'s operation {earlier:id} and {op:client}'s "
                         "operation {op:id} popped the same value from the list, and it was pushed once.",
    "fast-proof/early": "Found without a search: {op:client}'s operation {op:id} popped a value before "
                        "{earlier:client}'s operation {earlier:id}, the only push of it, began.",
    "fast-proof/order": "Found without a search: {op:client}'s operation {op:id} popped its value out of order: "
                        "{earlier:client}'s operation {earlier:id} pushed a value that real time says had to come "
                        "out first (first in, first out for a queue; last in, first out for a stack), and it did "
                        "not.",
    "fast-proof/witness": "Found without a search: {op:client}'s operation {op:id} found the list empty while the "
                          "value {earlier:client}'s operation {earlier:id} pushed was certainly in it (pushed before "
                          "the pop began, popped by nobody until after it ended).",
    "version-difference": "Version difference: the model of profile {profile} explains every reply of the failing "
                          "history, and the model of {checked}, the profile it was checked as, cannot: the server "
                          "behaves as that version here, which is no bug. Check it as that version with --profile "
                          "{profile}.",
}
"""Every claim's sentence, by claim name (the ``claim`` of an anomaly or a note)."""


# ----------------------------------------------------------------------------- formats


@dataclass(frozen=True, slots=True)
class Format:
    """How one output format shows the pieces of a sentence."""

    name: str

    def words(self, text: str) -> str:
        """Prose."""
        if self.name == "html":
            return html.escape(text, quote=False)
        if self.name == "markdown":
            return _MARKDOWN_SPECIAL.sub(r"\\\g<0>", text)
        return text

    def code(self, text: str) -> str:
        """A command, value, key or state, as typed."""
        if self.name == "html":
            return f"<code>{html.escape(text, quote=False)}</code>"
        if self.name == "markdown":
            return markdown_code(text)
        return text

    def op(self, op_id: int, inner: str) -> str:
        """A mention of operation ``op_id`` (``inner`` is already rendered)."""
        return f'<span class="op-ref" data-op="{op_id}">{inner}</span>' if self.name == "html" else inner

    def strong(self, text: str) -> str:
        if self.name == "html":
            return f"<strong>{html.escape(text, quote=False)}</strong>"
        if self.name == "markdown":
            return f"**{self.words(text)}**"
        return text


TEXT = Format("text")
"""Plain text: the console, ``junit.xml`` and ``result.json``'s ``explanation``."""
MARKDOWN = Format("markdown")
"""Markdown: ``summary.md`` (values, keys and commands in code spans)."""
HTML = Format("html")
"""HTML fragments for ``report.html``: operations as ``<span class="op-ref" data-op="…">``."""

_MARKDOWN_SPECIAL = re.compile(r"[\\`*_\[\]<|]")


def markdown_code(text: str) -> str:
    """``text`` as one Markdown code span, whatever backticks or pipes it holds.

    >>> markdown_code("GET k"), markdown_code("a`b")
    ('`GET k`', '`` a`b ``')
    """
    text = text.replace("\n", " ").replace("|", "\\|")
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if len(fence) > 1 or text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# ----------------------------------------------------------------------------- rendering


def render(statement: Anomaly | Note, names: Names, fmt: Format = TEXT) -> str:
    """The sentence of ``statement``'s claim, its facts cited in ``fmt``.

    :class:`KeyError` for a claim :data:`CLAIMS` does not know or a fact the sentence needs and the
    statement lacks: a bug in a recogniser, which a test of each claim catches.
    """
    template = CLAIMS[statement.claim]
    out: list[str] = []
    for literal, field, form, _ in Formatter().parse(template):
        out.append(fmt.words(literal))
        if field is not None:
            out.append(_cite(statement.facts[field], form or "", names, fmt))
    return "".join(out)


def render_anomaly(anomaly: Anomaly, names: Names, fmt: Format = TEXT) -> str:
    """An anomaly's paragraph: its title (``Stale read:``) and its sentence."""
    sentence = render(anomaly, names, fmt)
    if anomaly.kind == NO_VALID_ORDER:
        return sentence
    title = anomaly.title[0].upper() + anomaly.title[1:] + ":"
    return f"{fmt.strong(title)} {sentence}"


def _cite(fact: Fact, form: str, names: Names, fmt: Format) -> str:
    shown, clock = names.shown, names.clock
    if isinstance(fact, Op):
        return _cite_op(fact, form, names, fmt)
    if isinstance(fact, Time):
        return fmt.words(clock.at(fact.at))
    if isinstance(fact, Value | Key | Code):
        return fmt.code(shown(fact.text))
    if isinstance(fact, Text):
        return fmt.words(shown(fact.text))
    if isinstance(fact, Count):
        return fmt.words(f"{fact.n:,}" if form == "n" else plural(fact.n, fact.noun, fact.plural or None))
    if isinstance(fact, Message):
        payload, channel = fmt.code(shown(fact.payload)), fmt.code(shown(fact.channel))
        if form == "payload":
            return payload
        where = "shard channel " if fact.sharded else ""
        if form == "published":
            text = f"{fmt.words('message ')}{payload}{fmt.words(' published on ' + where)}{channel}"
            return text + (f"{fmt.words(' (for pattern ')}{fmt.code(shown(fact.pattern))})" if fact.pattern else "")
        text = f"{fmt.words('message ')}{payload}{fmt.words(' on ')}{channel}"
        if fact.pattern is not None:
            return text + f"{fmt.words(' via pattern ')}{fmt.code(shown(fact.pattern))}"
        return text + (fmt.words(" (sharded)") if fact.sharded else "")
    if isinstance(fact, Subscription):
        what = f"{fmt.words(fact.kind + ' ')}{fmt.code(shown(fact.name))}"
        if form == "what":
            return what
        client = fmt.words(client_name(fact.client))
        return client if form == "client" else f"{client}{fmt.words(' to ')}{what}"
    assert isinstance(fact, Listing)
    if not fact.items:
        return fmt.words("none")
    return fmt.words(fact.separator).join(_cite(item, form, names, fmt) for item in fact.items)


def _cite_op(op: Op, form: str, names: Names, fmt: Format) -> str:
    clock = names.clock
    if form == "span":
        return fmt.words(clock.between(op.invoke, op.complete))
    if form == "invoke":
        return fmt.words(clock.at(op.invoke))
    if form == "complete":
        return fmt.words(clock.at(op.complete) if op.complete is not None else "no reply")
    if form == "at":
        return fmt.words(f"from {clock.at(op.invoke)} (no reply)" if op.complete is None
                         else f"at {clock.between(op.invoke, op.complete)}")
    client = fmt.words(client_name(op.client))
    command = fmt.code(names.shown(op.command))
    possessive = fmt.words("'s ")
    span = fmt.words(f" ({clock.between(op.invoke, op.complete)})")
    if form == "client":
        inner = client
    elif form == "command":
        inner = command
    elif form == "described":
        inner = fmt.code(names.shown(op.described))
    elif form == "id":
        inner = fmt.words(str(names.op_id(op.id)))
    elif form == "named":
        inner = f"{client}{possessive}{command}{span}"
    elif form == "listed":
        inner = f"{client}{fmt.words(': ')}{fmt.code(names.shown(op.described))}{span}"
    elif form == "":
        inner = f"{client}{possessive}{command}"
    else:
        raise KeyError(f"unknown form {form!r} of an operation")
    return fmt.op(op.id, inner)
