"""A planted fault in consumer groups (sheet-free: Redis's streams documentation is the reference).

``group-forgets-delivery``: about one XREADGROUP ``>`` in five (outside MULTI, without NOACK)
replies the new entries it read but leaves the group as it was: its last-delivered id does not
move and nothing is added to the pending entries list.  The same entries then go to the next
consumer too, and XPENDING never shows the first delivery -- two consumers of one group handed the
same entry without a claim, and a delivered entry no one can acknowledge.  A clone that keeps group
state apart from the stream (or loses it on a failover) breaks this way.

>>> GroupForgetsDelivery(seed=1).applies([b"XREADGROUP", b"GROUP", b"g", b"c", b"STREAMS", b"s", b">"])
True
>>> GroupForgetsDelivery(seed=1).applies([b"XREADGROUP", b"GROUP", b"g", b"c", b"NOACK", b"STREAMS", b"s", b">"])
False
"""

from __future__ import annotations

from typing import Final

from redlin.model import Reply
from redlin.serve.hooks import Argv, Fault, Host, is_standalone

__all__ = ["FORGET_CHANCE", "GROUP_FAULTS", "GroupForgetsDelivery"]

FORGET_CHANCE: Final = 0.2


class GroupForgetsDelivery(Fault):
    name = "group-forgets-delivery"
    description = ("about 1 in 5 XREADGROUP > replies its entries but leaves the consumer group unchanged: "
                   "they are delivered again to another consumer and never pending")

    def applies(self, argv: Argv) -> bool:
        words = [word.lower() for word in argv]
        return words[0] == b"xreadgroup" and b"noack" not in words and words[-1] == b">"

    async def execute(self, server: Host, client: int, argv: Argv) -> Reply:
        before = server.state
        reply = server.step(client, argv)
        if (is_standalone(before, client) and self.applies(argv) and type(reply) is tuple
                and self.random.random() < FORGET_CHANCE):
            server.state = before  # the entries went out; the group did not record it
        return reply


GROUP_FAULTS: Final = (GroupForgetsDelivery,)
