"""The probe list of ``tests/test_resp3.py``: every modelled command, in situations that exercise each
RESP3 rule (nulls, maps, sets, doubles, score pairs, pushes, EXEC, scripts), run in this order on one
connection that said ``HELLO 3``.  Setup commands are probes too: their replies are compared as well.

Left out on purpose: ``SAVE``, ``SHUTDOWN``, ``SYNC`` and ``PSYNC`` (the model does not run them),
a blocking pop on an empty list (the model does not block), ``TIME`` and ``PTTL`` of a key with an
expiry (the clocks differ).

>>> len(PROBES) > 200
True
"""

from __future__ import annotations

import shlex

_TEXT = r"""
FLUSHALL
RANDOMKEY
SET s 10
RANDOMKEY
GET s
GET nos
GETDEL s
SET s 10
GETSET s 11
APPEND s x
STRLEN s
SET n 5
INCR n
DECR n
INCRBY n 3
DECRBY n 2
SETNX s y
MSET a 1 b 2
MGET a nos b
MSETNX c 1 a 2
SET k v EX 100 GET
SET k v NX
SET k v XX GET
SET nok v XX GET
SETRANGE sr 2 ab
GETRANGE sr 0 -1
GETRANGE nos 0 1
SUBSTR sr 1 2
GETEX sr
GETEX nos
GETEX sr PERSIST
SETEX se 100 v
PSETEX se 100000 v
INCRBYFLOAT fl 1.5
COPY sr sr2
COPY nos sr3
TOUCH sr nos sr
SET et v
PEXPIREAT et 99999999999000
EXPIRETIME et
PEXPIRETIME et
EXPIRETIME nos
PEXPIRETIME sr
EXISTS a b nos
TYPE a
TYPE nos
DEL c
UNLINK nos
EXPIRE a 100
TTL a
PEXPIRE a 100000
EXPIREAT a 99999999999
PEXPIREAT a 99999999999999
PERSIST a
PTTL a
PTTL nos
TTL nos
RENAME a a2
RENAMENX a2 b
MOVE a2 1
DBSIZE
SELECT 0
KEYS s*
KEYS nosuch*
SCAN 0 MATCH sr2 COUNT 1000
SCAN 0 MATCH nosuch COUNT 1000 TYPE string
SCAN x
SADD scanset 3 1 2
SSCAN scanset 0
SSCAN nos 0 COUNT 0
HSET scanhash a 1
HSCAN scanhash 0 MATCH a
ZADD scanz 2 b 1 a
ZSCAN scanz 0
OBJECT ENCODING scanset
OBJECT ENCODING n
OBJECT ENCODING nos
OBJECT REFCOUNT scanhash
OBJECT FREQ scanhash
OBJECT IDLETIME scanz
OBJECT HELP
WAIT 0 0
ECHO hi
CONFIG GET maxmemory-samples
CONFIG GET nosuch
CONFIG SET maxmemory-samples 6
CONFIG GET maxmemory-samples
CONFIG SET maxmemory-samples 5
CONFIG SET nosuch 1
CONFIG RESETSTAT
CONFIG REWRITE
CONFIG HELP
PING
PING x
RPUSH l a b c b
LPUSH l z
LPUSHX l y
RPUSHX nol y
LRANGE l 0 -1
LRANGE nol 0 -1
LINDEX l 1
LINDEX l 99
LLEN l
LINSERT l BEFORE b q
LPOS l b
LPOS l b COUNT 0
LPOS l nob
LPOS l nob COUNT 2
LSET l 0 w
LREM l 1 b
LPOP l
RPOP l
LPOP l 2
LPOP nol
LPOP nol 2
RPOP l 0
LMOVE l l2 LEFT RIGHT
LMOVE nol l2 LEFT RIGHT
RPOPLPUSH l l2
RPOPLPUSH nol l2
RPUSH lm a b c
LMPOP 2 nol lm LEFT COUNT 2
LMPOP 1 lm RIGHT
LMPOP 1 nol RIGHT
LTRIM l2 0 1
BLPOP l2 0.01
BRPOP nol l2 0.01
RPUSH l3 a b
BLMOVE l3 l4 LEFT LEFT 0.01
BRPOPLPUSH l3 l5 0.01
RPUSH bl a b c
BLMPOP 0.01 2 nol bl LEFT COUNT 2
BLMPOP 0.01 1 bl RIGHT
HSET h f 1 g 2
HMSET h i 3
HSETNX h f 9
HGET h f
HGET h nof
HMGET h f nof
HGETALL h
HGETALL noh
HKEYS h
HVALS h
HLEN h
HEXISTS h f
HSTRLEN h f
HINCRBY h f 2
HINCRBYFLOAT h f 1.5
HINCRBYFLOAT h f 1
HDEL h g nof
SADD st a b c
SADD st2 b c d
SMEMBERS st
SMEMBERS nost
SADD one m
SRANDMEMBER one
SRANDMEMBER one 3
SRANDMEMBER one -2
SRANDMEMBER one 0
SRANDMEMBER nost 2
SRANDMEMBER nost
SPOP one 5
SPOP one 0
SPOP nost 2
SPOP nost
SADD one m
SPOP one
HSET onehash f v
HRANDFIELD onehash
HRANDFIELD onehash 2 WITHVALUES
HRANDFIELD onehash -2
HRANDFIELD nohash 2 WITHVALUES
HRANDFIELD nohash
ZADD onez 1.5 m
ZRANDMEMBER onez
ZRANDMEMBER onez -2 WITHSCORES
ZRANDMEMBER onez 1
ZRANDMEMBER noz 1 WITHSCORES
ZRANDMEMBER noz
SETBIT bits 7 1
SETBIT bits 100 1
GETBIT bits 7
BITCOUNT bits
BITCOUNT bits 0 -1 BIT
BITPOS bits 1
BITPOS bits 0 2 -1 BYTE
BITOP OR bits2 bits nobits
BITFIELD bits GET u8 0 SET i16 #1 -5 INCRBY u4 0 20 OVERFLOW FAIL INCRBY u2 0 9
BITFIELD_RO bits GET i8 0
LCS bits bits2
SET lcsa ohmytext
SET lcsb mynewtext
LCS lcsa lcsb
LCS lcsa lcsb LEN
LCS lcsa lcsb IDX MINMATCHLEN 2 WITHMATCHLEN
LCS lcsa nolcs IDX
RPUSH sortl 3 1 2
SORT sortl
SORT sortl DESC LIMIT 0 2
SORT_RO sortl ALPHA
SORT sortl STORE sorted
SORT nosortl
PFADD hll a b c
PFADD hll a
PFCOUNT hll
PFADD hll2 c d
PFCOUNT hll hll2
PFMERGE hll3 hll hll2
PFDEBUG ENCODING hll3
PFSELFTEST
XADD st 1-1 f v
XADD st 2-1 MAXLEN 10 g w
XADD st NOMKSTREAM 3-0 h x
XADD nost NOMKSTREAM 1-1 f v
XLEN st
XRANGE st - + COUNT 2
XREVRANGE st + -
XRANGE nost - +
XDEL st 3-0
XTRIM st MAXLEN 5
XSETID st 9-9
XREAD COUNT 1 STREAMS st 0
XREAD STREAMS nost 0
XGROUP CREATE st grp 0
XGROUP CREATE st grp 0
XGROUP CREATECONSUMER st grp alice
XREADGROUP GROUP grp bob COUNT 1 STREAMS st >
XREADGROUP GROUP grp bob STREAMS st 0
XPENDING st grp
XACK st grp 1-1
XCLAIM st grp carol 0 2-1 JUSTID
XAUTOCLAIM st grp carol 0 0 JUSTID
XINFO STREAM st
XINFO GROUPS st
XGROUP DELCONSUMER st grp alice
XINFO CONSUMERS nost grp
XGROUP SETID st grp $
XGROUP DESTROY st grp
XGROUP CREATE st grp2 $ ENTRIESREAD 1
XINFO CONSUMERS st grp2
XGROUP HELP
XINFO HELP
FUNCTION FLUSH
FUNCTION LOAD "#!lua name=probelib<NL>redis.register_function{function_name='probe', callback=function(keys, args) return {1, 'x', redis.call('GET', keys[1])} end, flags={'no-writes'}, description='d'}"
FCALL probe 1 nosuchkey
FCALL_RO probe 0
FCALL nofunction 0
FUNCTION LIST
FUNCTION LIST WITHCODE LIBRARYNAME probe*
FUNCTION STATS
FUNCTION DUMP
FUNCTION RESTORE bad
FUNCTION KILL
FUNCTION HELP
FUNCTION DELETE probelib
FUNCTION DELETE probelib
SISMEMBER st a
SMISMEMBER st a z
SCARD st
SINTER st st2
SINTER st nost
SUNION st st2
SDIFF st st2
SINTERCARD 2 st st2
SINTERCARD 2 st st2 LIMIT 1
SINTERSTORE st3 st st2
SUNIONSTORE st4 st st2
SDIFFSTORE st5 st st2
SMOVE st st2 a
SREM st b
SMEMBERS l
ZADD z 1 a 2 b 3.5 c
ZADD z INCR 1 a
ZADD z XX INCR 1 nom
ZADD z NX INCR 1 a
ZADD z GT CH 5 a
ZSCORE z a
ZSCORE z nom
ZSCORE noz a
ZSCORE l a
ZMSCORE z a nom c
ZMSCORE noz a
ZINCRBY z 1.5 b
ZINCRBY z inf b
ZCARD z
ZCOUNT z -inf +inf
ZLEXCOUNT z - +
ZRANGE z 0 -1
ZRANGE z 0 -1 WITHSCORES
ZRANGE z 0 -1 withscores
ZRANGE z 0 -1 REV WITHSCORES
ZRANGE z -inf +inf BYSCORE WITHSCORES LIMIT 0 2
ZRANGE z - + BYLEX
ZRANGE z - + BYLEX WITHSCORES
ZRANGE noz 0 -1 WITHSCORES
ZREVRANGE z 0 -1 WITHSCORES
ZRANGEBYSCORE z -inf +inf WITHSCORES
ZRANGEBYSCORE z -inf +inf LIMIT 0 1 WITHSCORES
ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 0 0
ZREVRANGEBYSCORE z +inf -inf WITHSCORES LIMIT 0 1
ZRANGEBYLEX z - +
ZREVRANGEBYLEX z + -
ZRANK z a
ZREVRANK z a
ZRANK z nom
ZRANGESTORE z2 z 0 -1
ZPOPMIN z
ZPOPMAX z
ZPOPMIN z 2
ZPOPMIN noz
ZPOPMIN noz 2
ZADD z3 1 x 2 y 3 w
ZPOPMAX z3 1
ZPOPMIN z3 0
ZPOPMAX z3 5
ZADD bz 1 a 2.5 b 3 c 4 d
BZPOPMIN nobz bz 0.01
BZPOPMAX bz 0.01
BZMPOP 0.01 1 bz MIN COUNT 5
MULTI
BZPOPMIN bz 0
BZMPOP 0 1 bz MAX
BLMPOP 0 1 bl LEFT
EXEC
ZADD za 1 a 2 b
ZUNION 2 za z4 WITHSCORES
ZUNION 1 za
ZINTER 1 za WITHSCORES
ZDIFF 1 za WITHSCORES
ZUNIONSTORE zd 1 za
ZINTERSTORE zd 2 za nos
ZDIFFSTORE zd 1 za
ZINTERCARD 1 za
ZADD zr 1 a 2 b 3 c 0 d
ZREMRANGEBYRANK zr 0 0
ZREMRANGEBYSCORE zr (1 2
ZREMRANGEBYLEX zr - +
ZREMRANGEBYLEX zr x y
ZMPOP 1 za MIN
ZMPOP 1 za MAX COUNT 5
ZMPOP 1 za MIN
ZADD z4 -0.5 x 1e300 y 3 w -0.0 v 0.00001 u
ZRANGE z4 0 -1 WITHSCORES
ZSCORE z4 y
ZINCRBY z4 -inf w
ZADD z4 INCR 1e308 u
ZADD z4 INCR 1e308 u
ZADD z4 INCR -inf u
ZREM z4 x nom
ZADD z5 0.1 a 1.0000000000000002 b 123456789012345678 c
ZRANGE z5 0 -1 WITHSCORES
MULTI
INCR n
HGETALL h
ZSCORE z4 y
GET nos
SMEMBERS st2
ZRANGE z5 0 0 WITHSCORES
ZPOPMIN z5
EXEC
MULTI
DISCARD
WATCH s
UNWATCH
EXEC
MULTI
GET
EXEC
EVAL 'return 1' 0
EVAL 'return nil' 0
EVAL 'return {1,2,{3}}' 0
EVAL 'return 3.7' 0
EVAL 'return true' 0
EVAL 'return false' 0
EVAL 'return {1,false,2}' 0
EVAL "return {ok='x'}" 0
EVAL "return {err='x'}" 0
EVAL "return redis.call('hgetall', KEYS[1])" 1 h
EVAL "return redis.call('zscore', KEYS[1], 'y')" 1 z4
EVAL "return redis.call('get', 'nos')" 0
EVAL "return redis.pcall('hgetall', 'l')" 0
EVAL 'return {double=3.5}' 0
EVAL 'return {double=1/0}' 0
EVAL 'return {true, {double=1}}' 0
EVAL 'return {map={a=1}}' 0
EVAL "return {map={a={double=2}, b={false}}}" 0
EVAL 'return {set={a=true}}' 0
EVAL "return {big_number='123'}" 0
EVAL "return {verbatim_string={format='txt', string='x'}}" 0
EVAL "return {verbatim_string={format='x', string='yz'}}" 0
EVAL "return {verbatim_string={format='markdown', string=''}}" 0
EVAL_RO 'return 1' 0
SCRIPT LOAD 'return {double=0.5}'
EVALSHA 74606bf92a7b1bca15bb4026e48b82ee1cdf6d3b 0
EVALSHA_RO 74606bf92a7b1bca15bb4026e48b82ee1cdf6d3b 0
SCRIPT EXISTS 74606bf92a7b1bca15bb4026e48b82ee1cdf6d3b ffffffffffffffffffffffffffffffffffffffff
SCRIPT KILL
SCRIPT FLUSH
SCRIPT HELP
MULTI
EVAL 'return {double=4}' 0
EVAL 'return nil' 0
EXEC
PUBLISH ch hello
SPUBLISH ch hello
PUBSUB CHANNELS
PUBSUB NUMSUB ch
PUBSUB NUMPAT
PUBSUB SHARDCHANNELS
PUBSUB SHARDNUMSUB ch
PUBSUB HELP
SUBSCRIBE ch1 ch2
PING
PING x
GET s
HGETALL h
PUBLISH ch1 m
PSUBSCRIBE p* c*
PUBLISH ch1 m2
SSUBSCRIBE sc
SPUBLISH sc m3
PUBSUB CHANNELS
PUBSUB NUMSUB ch1
MULTI
PUBLISH ch2 m4
ZSCORE z4 y
PING
EXEC
EVAL "return redis.call('publish', 'ch1', 'm5')" 0
UNSUBSCRIBE
PUNSUBSCRIBE
SUNSUBSCRIBE
UNSUBSCRIBE
MULTI
SUBSCRIBE a b
PING
PUBLISH a x
GET nos
EXEC
MULTI
UNSUBSCRIBE
EXEC
MULTI
UNSUBSCRIBE
EXEC
SWAPDB 0 1
SWAPDB 0 1
FLUSHDB
SET s 1
SUBSCRIBE ch
RESET
HGETALL nosuch
GET nos
SUBSCRIBE ch
PING
GET s
FLUSHALL
QUIT
"""

PROBES: tuple[tuple[bytes, ...], ...] = tuple(
    tuple(word.replace("<NL>", "\n").encode() for word in shlex.split(line)) for line in _TEXT.strip().splitlines())
"""Each probe's argv, in order (``<NL>`` in a word is a newline)."""

UNMODELLED = frozenset({"save", "shutdown", "sync", "psync", "time"})
"""Commands of the model's table no probe sends: the model answers that it does not run them, or
(TIME) the model's clock is not the server's."""
