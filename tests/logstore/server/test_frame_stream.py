"""The frame stream a connection reads through: frames come out whole and in order however
the bytes were split, over plain TCP and TLS, on asyncio's loop and on uvloop; a large
body is read into its own buffer; the byte budget is charged only for what arrived (at
most four times that, or 64 KiB) and given back on every way out; and a client whose frames
nobody consumes is no longer read from until they are."""

from __future__ import annotations

import asyncio
import random
import ssl
import struct
from collections.abc import Awaitable, Callable

import pytest
import uvloop

from logstore.protocol.errors import ProtocolError
from logstore.protocol.framing import parse_length
from logstore.security.dev_ca import create
from logstore.server.budget import ByteBudget
from logstore.server.frame_stream import FIRST_BODY_BYTES, GROWTH, PAUSE_BYTES, FrameStream

MiB = 1024 * 1024
SIZES = [12, 1, 300, 70_000, 6 * MiB + 17, 40, 262_144, 262_140, 5, 1_048_576, 3 * MiB]


def _frames(sizes: list[int], seed: int) -> tuple[list[bytes], bytes]:
    rng = random.Random(seed)
    bodies = [rng.randbytes(n) for n in sizes]
    return bodies, b"".join(struct.pack(">i", len(b)) + b for b in bodies)


async def _read_frames(stream: FrameStream, count: int, budget: ByteBudget) -> list[bytes]:
    got = []
    for _ in range(count):
        (length,) = struct.unpack(">i", await stream.read_prefix(100 * MiB))
        body = await stream.read_body(length, budget)
        # A returned body is charged in full (bodies read ahead of it are charged too).
        assert budget.capacity - budget.available >= length
        if length > 2 * PAUSE_BYTES:  # more than can ever be staged: read in place
            assert isinstance(body, memoryview)
            assert body.readonly
        got.append(bytes(body))
        budget.release(length)
    return got


Run = Callable[[Awaitable[None]], None]


def _runners() -> list[tuple[str, Run]]:
    return [("asyncio", asyncio.run), ("uvloop", uvloop.run)]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    directory = tmp_path_factory.mktemp("ca")
    create(directory, ("127.0.0.1",), ())
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(directory / "server.pem")
    client = ssl.create_default_context(cafile=str(directory / "ca.pem"))
    return server, client


@pytest.mark.parametrize("runner", _runners(), ids=lambda r: r[0])
@pytest.mark.parametrize("secure", [False, True], ids=["plain", "tls"])
def test_frames_arrive_whole_and_in_order_over_a_real_socket(
    runner: tuple[str, Run], secure: bool, tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    bodies, wire = _frames(SIZES, seed=1)
    server_ctx, client_ctx = tls if secure else (None, None)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        budget = ByteBudget(64 * MiB)
        done: asyncio.Future[list[bytes]] = loop.create_future()

        async def connected(stream: FrameStream, writer: asyncio.StreamWriter) -> None:
            try:
                done.set_result(await _read_frames(stream, len(bodies), budget))
            except BaseException as exc:
                done.set_exception(exc)
            writer.close()

        server = await loop.create_server(
            lambda: FrameStream(loop, connected), "127.0.0.1", 0, ssl=server_ctx
        )
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname="127.0.0.1" if secure else None
        )
        rng = random.Random(2)
        at = 0
        while at < len(wire):  # writes of every size, crossing every frame boundary
            step = rng.choice((1, 3, 4, 5, 1000, 65_536, 300_000, 2 * MiB))
            writer.write(wire[at : at + step])
            at += step
            await writer.drain()
        assert await asyncio.wait_for(done, 30) == bodies
        assert budget.available == budget.capacity
        writer.close()
        server.close()

    runner[1](main())


class _Transport(asyncio.Transport):
    """Stands in for the event loop's transport where a test feeds bytes by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default


def _fed_stream() -> tuple[FrameStream, _Transport]:
    """A stream on the running loop whose bytes the test feeds by hand (`_feed`)."""
    stream = FrameStream(asyncio.get_running_loop())
    transport = _Transport()
    stream.connection_made(transport)
    return stream, transport


def _feed(stream: FrameStream, data: bytes) -> None:
    """What the event loop does with a read of `data`: as many buffers as it takes."""
    view = memoryview(data)
    while view:
        buf = stream.get_buffer(-1)
        assert len(buf) > 0
        n = min(len(buf), len(view))
        buf[:n] = view[:n]
        stream.buffer_updated(n)
        view = view[n:]


def test_any_split_of_the_stream_gives_the_same_frames() -> None:
    rng = random.Random(3)
    for seed in range(20):
        sizes = [rng.choice((1, 7, 4096, 70_000, 300_000, 1_500_000)) for _ in range(8)]
        bodies, wire = _frames(sizes, seed)

        async def main(bodies: list[bytes] = bodies, wire: bytes = wire) -> None:
            stream, _ = _fed_stream()
            budget = ByteBudget(64 * MiB)
            reading = asyncio.create_task(_read_frames(stream, len(bodies), budget))
            at = 0
            while at < len(wire):
                step = rng.randint(1, 400_000)
                _feed(stream, wire[at : at + step])
                at += step
                await asyncio.sleep(0)  # the reader runs between reads, or does not
                await asyncio.sleep(0)
            assert await reading == bodies
            assert budget.available == budget.capacity

        asyncio.run(main())


def test_the_budget_is_charged_for_what_arrived_and_given_back_on_eof() -> None:
    async def main() -> None:
        stream, _ = _fed_stream()
        budget = ByteBudget(200 * MiB)
        length = 100 * MiB
        _feed(stream, struct.pack(">i", length))
        (claimed,) = struct.unpack(">i", await stream.readexactly(4))
        reading = asyncio.create_task(stream.read_body(claimed, budget))
        await asyncio.sleep(0)
        assert budget.available == budget.capacity  # a length prefix alone holds nothing
        sent = 0
        for chunk in (1, 10, 70_000, 1_000_000, 3 * MiB, 9 * MiB):
            _feed(stream, b"x" * chunk)
            sent += chunk
            for _ in range(3):
                await asyncio.sleep(0)
            held = budget.capacity - budget.available
            assert 0 < held <= max(GROWTH * sent, FIRST_BODY_BYTES)
            assert stream.body_arrived == sent
        stream.eof_received()
        with pytest.raises(asyncio.IncompleteReadError) as info:
            await reading
        assert len(info.value.partial) == sent
        assert info.value.expected == length
        assert budget.available == budget.capacity

    asyncio.run(main())


def test_a_connection_lost_mid_body_is_a_reset_and_holds_nothing() -> None:
    async def main() -> None:
        stream, _ = _fed_stream()
        budget = ByteBudget(8 * MiB)
        _feed(stream, struct.pack(">i", 4 * MiB) + b"y" * 500_000)
        await stream.readexactly(4)
        reading = asyncio.create_task(stream.read_body(4 * MiB, budget))
        await asyncio.sleep(0)
        stream.connection_lost(ConnectionResetError("reset by peer"))
        with pytest.raises(ConnectionResetError):
            await reading
        assert budget.available == budget.capacity

    asyncio.run(main())


def test_a_short_prefix_at_the_end_is_an_incomplete_read() -> None:
    async def main() -> None:
        stream, _ = _fed_stream()
        _feed(stream, b"\x00\x01")
        stream.eof_received()
        with pytest.raises(asyncio.IncompleteReadError) as info:
            await stream.readexactly(4)
        assert info.value.partial == b"\x00\x01"
        assert await stream.read(10) == b""

    asyncio.run(main())


def test_reading_pauses_while_nobody_consumes_and_resumes_after() -> None:
    bodies, wire = _frames([1000] * 5000, seed=4)  # ~5 MB of small frames

    async def main() -> None:
        stream, transport = _fed_stream()
        at = 0
        while transport.reading and at < len(wire):
            _feed(stream, wire[at : at + 65_536])
            at += 65_536
        assert not transport.reading
        assert PAUSE_BYTES <= at < PAUSE_BYTES + 65_536
        budget = ByteBudget(8 * MiB)
        got = []
        while len(got) < len(bodies):
            if transport.reading and at < len(wire):
                _feed(stream, wire[at : at + 65_536])
                at += 65_536
            (length,) = struct.unpack(">i", await stream.readexactly(4))
            got.append(bytes(await stream.read_body(length, budget)))
            budget.release(length)
        assert got == bodies

    asyncio.run(main())


def test_a_body_arriving_with_its_prefix_is_read_ahead_and_can_be_abandoned() -> None:
    async def main() -> None:
        stream, _ = _fed_stream()
        body = random.Random(5).randbytes(3 * MiB)
        waiting = asyncio.create_task(stream.read_prefix(4 * MiB))
        await asyncio.sleep(0)
        _feed(stream, struct.pack(">i", len(body)))
        assert stream.read_ahead_bytes == 0  # a prefix alone: nothing to read ahead
        # The event loop reads on before the reader runs: the body gets its own buffer
        # at the first of its bytes, and the next reads land in it, not in staging.
        _feed(stream, body[:100_000])
        assert stream.read_ahead_bytes == GROWTH * 100_000
        lent = stream.get_buffer(-1)
        assert len(lent) == GROWTH * 100_000 - 100_000
        del lent
        assert await waiting == struct.pack(">i", len(body))
        assert stream.read_ahead_bytes == 0  # taken: read_body's now
        stream.abandon()

        # A frame larger than the reader accepts is left for it to refuse.
        waiting = asyncio.create_task(stream.read_prefix(4 * MiB))
        await asyncio.sleep(0)
        _feed(stream, struct.pack(">i", 5 * MiB) + b"z" * 10)
        assert stream.read_ahead_bytes == 0
        assert await waiting == struct.pack(">i", 5 * MiB)

    asyncio.run(main())


def test_a_read_ahead_body_comes_out_whole() -> None:
    async def main() -> None:
        stream, _ = _fed_stream()
        budget = ByteBudget(8 * MiB)
        body = random.Random(6).randbytes(3 * MiB)
        waiting = asyncio.create_task(stream.read_prefix(4 * MiB))
        await asyncio.sleep(0)
        wire = struct.pack(">i", len(body)) + body + struct.pack(">i", 9) + b"123456789"
        _feed(stream, wire[:70_000])
        _feed(stream, wire[70_000:2_000_000])  # fills the first buffer, the rest staged
        (length,) = struct.unpack(">i", await waiting)
        reading = asyncio.create_task(stream.read_body(length, budget))
        await asyncio.sleep(0)
        _feed(stream, wire[2_000_000:])
        assert bytes(await reading) == body
        budget.release(length)
        (length,) = struct.unpack(">i", await stream.read_prefix(4 * MiB))
        assert await stream.read_body(length, budget) == b"123456789"

    asyncio.run(main())


def test_bodies_arriving_while_the_reader_is_busy_are_read_ahead_in_order() -> None:
    async def main() -> None:
        stream, transport = _fed_stream()
        budget = ByteBudget(64 * MiB)
        first, wire = _frames([10], seed=7)
        _feed(stream, wire)
        (length,) = struct.unpack(">i", await stream.read_prefix(4 * MiB))
        assert await stream.read_body(length, budget) == first[0]
        budget.release(length)
        # The reader is busy now (it does not run while these reads happen).
        bodies, wire = _frames([700_000, 900_000, 600_000, 800_000], seed=8)
        fed = 0
        while transport.reading and fed < len(wire):
            _feed(stream, wire[fed : fed + 256 * 1024])
            fed += 256 * 1024
        assert not transport.reading  # paused: PAUSE_BYTES read and not taken
        # Bodies went into their own buffers, up to PAUSE_BYTES of them, the rest staged;
        # none is charged while the reader has not taken it: a stalled reader (a client
        # that stopped reading its answers) holds no budget.
        assert 1_000_000 < stream.read_ahead_bytes <= PAUSE_BYTES
        assert budget.available == budget.capacity
        got = []
        for _ in bodies:
            (length,) = struct.unpack(">i", await stream.read_prefix(4 * MiB))
            if transport.reading and fed < len(wire):
                _feed(stream, wire[fed:])
                fed = len(wire)
            got.append(bytes(await stream.read_body(length, budget)))
            budget.release(length)
        assert got == bodies
        assert budget.available == budget.capacity

        # Read ahead, then the connection ends: abandon drops it.
        _, wire = _frames([700_000, 900_000], seed=9)
        _feed(stream, wire[:300_000])
        assert stream.read_ahead_bytes > 0
        stream.abandon()
        assert stream.read_ahead_bytes == 0
        assert budget.available == budget.capacity

    asyncio.run(main())


def test_hostile_streams_end_cleanly_and_give_every_charge_back() -> None:
    """Valid frames, then garbage (lengths negative, tiny, huge or plausible over random
    bytes), split at random, ended by EOF or a reset at a random point: the reader gets
    the valid frames in order, then an end it expects, and the budget is whole again."""
    rng = random.Random(10)
    max_bytes = 2 * MiB
    for case in range(200):
        sizes = [rng.choice((8, 100, 70_000, 600_000)) for _ in range(rng.randint(0, 4))]
        bodies, wire = _frames(sizes, seed=case)
        garbage = rng.choice(
            (
                struct.pack(">i", -1),
                struct.pack(">i", 3),
                struct.pack(">i", max_bytes + 1),
                struct.pack(">i", rng.randint(8, max_bytes)) + rng.randbytes(rng.randint(0, 9000)),
                rng.randbytes(rng.randint(0, 300_000)),
            )
        )
        stream_bytes = wire + garbage
        cut = rng.randint(len(wire), len(stream_bytes))
        reset = rng.random() < 0.3

        async def main(
            stream_bytes: bytes = stream_bytes, cut: int = cut, reset: bool = reset
        ) -> list[bytes]:
            stream, _ = _fed_stream()
            budget = ByteBudget(8 * MiB)
            got: list[bytes] = []

            async def reader() -> None:
                while True:
                    prefix = await stream.read_prefix(max_bytes)
                    length = parse_length(prefix, max_bytes)
                    got.append(bytes(await stream.read_body(length, budget)))
                    budget.release(length)

            reading = asyncio.create_task(reader())
            at = 0
            while at < cut:
                step = min(rng.randint(1, 300_000), cut - at)
                _feed(stream, stream_bytes[at : at + step])
                at += step
                for _ in range(rng.randint(0, 3)):
                    await asyncio.sleep(0)
            if reset:
                stream.connection_lost(ConnectionResetError("reset"))
            else:
                stream.eof_received()
            with pytest.raises((asyncio.IncompleteReadError, ConnectionError, ProtocolError)):
                await reading
            stream.abandon()  # what the connection does when it ends
            assert budget.available == budget.capacity
            return got

        got = asyncio.run(main())
        assert got[: len(bodies)] == bodies


def test_a_body_that_starts_like_a_frame_is_not_read_ahead_as_one() -> None:
    # Bytes that arrive while read_body waits for its body's first byte, or for budget,
    # are that body's, however much they look like a length prefix.
    async def main(budget_bytes: int) -> None:
        stream, _ = _fed_stream()
        budget = ByteBudget(budget_bytes)
        body = struct.pack(">i", 50_000) + random.Random(11).randbytes(99_996)
        _feed(stream, struct.pack(">i", len(body)))
        (length,) = struct.unpack(">i", await stream.read_prefix(4 * MiB))
        held = 0
        if budget_bytes < 16 * MiB:
            held = budget_bytes - 1000  # another request holds nearly all of it
            assert budget.try_acquire(held)
        reading = asyncio.create_task(stream.read_body(length, budget))
        await asyncio.sleep(0)
        _feed(stream, body[:30_000])
        await asyncio.sleep(0)
        _feed(stream, body[30_000:60_000])
        budget.release(held)
        await asyncio.sleep(0)
        _feed(stream, body[60_000:])
        assert bytes(await reading) == body

    asyncio.run(main(64 * MiB))
    asyncio.run(main(1 * MiB))
