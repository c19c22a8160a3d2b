"""The MLLP receiver: interface engines push SIU messages; each is on disk before its ``AA``.

Framing is python-hl7's asyncio MLLP server (``hl7.mllp``); each message's bytes are judged,
then either made durable in the spool (orchestration/extract/hl7_spool.py) and answered
``AA``, or kept in ``<landing>/rejected/mllp/`` with a reason and answered ``AR`` (not HL7 we
can take: no MSH, not a scheduling message, too large, bytes outside a block) or ``AE``
(an HL7 message that does not parse, or that could not be stored). Each connection is its own
task with an idle limit, so one connection's garbage or slowness never stops another's. Log
lines carry connection numbers, sizes and reasons, never message content.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import logging
import re
import signal
import ssl
import sys
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import hl7
from hl7.mllp import InvalidBlockError, start_hl7_server

from orchestration.extract.durable_files import write_atomically
from orchestration.extract.hl7_spool import HL7Spool, SpoolBusy

LOG = logging.getLogger("referral_warehouse.mllp")
REJECTED = Path("rejected") / "mllp"
RECEIVER_APPLICATION = "REFERRAL_WAREHOUSE"
ACCEPTED_TYPES = ("SIU",)
SEGMENT_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Verdict:
    """What to answer a message and why (the reason names fields, never values)."""

    code: str  # AA, AE or AR
    reason: str = ""
    message: hl7.Message | None = None


def decode(block: bytes) -> str:
    """Decode a message as the loader does: UTF-8, else ISO 8859-1 (which decodes any byte)."""
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError:
        return block.decode("iso-8859-1")


def judge(block: bytes) -> Verdict:
    """Return whether a message is one the warehouse takes."""
    text = decode(block).lstrip("\r\n ")
    if not text.startswith("MSH") or len(text) < 8:
        return Verdict("AR", "no MSH segment at the start")
    try:
        # The header decides the answer; the segments after it are the loader's to read (and
        # to quarantine), and parsing them all here would cost most of a message's time.
        message = hl7.parse(SEGMENT_END.split(text, maxsplit=1)[0])
        message_type = str(message.segment("MSH")(9)(1)(1))
        control_id = str(message.segment("MSH")(10))
    except Exception as error:  # any parser failure is the sender's error
        return Verdict("AE", f"the MSH segment does not parse as HL7 v2 "
                             f"({type(error).__name__})")
    if message_type not in ACCEPTED_TYPES:
        return Verdict("AR", "MSH-9 is not a scheduling (SIU) message", message)
    if not control_id:
        return Verdict("AE", "MSH-10 (message control id) is empty", message)
    return Verdict("AA", "", message)


def acknowledgement(verdict: Verdict) -> bytes:
    """Return the ACK for a verdict, with MSA-3 saying why when it is not ``AA``."""
    text = ""
    if verdict.message is not None:
        try:  # python-hl7 builds it from the message's MSH, when that MSH is whole enough
            text = str(verdict.message.create_ack(verdict.code,
                                                  application=RECEIVER_APPLICATION))
        except Exception:  # an MSH too broken to echo: the ACK that echoes nothing
            text = ""
    if not text:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d%H%M%S")
        text = (f"MSH|^~\\&|{RECEIVER_APPLICATION}||||{stamp}||ACK|{stamp}|P|2.5.1\r"
                f"MSA|{verdict.code}|")
    if verdict.reason:
        text = text.rstrip("\r") + f"|{verdict.reason}"
    return (text.rstrip("\r") + "\r").encode("utf-8")


class GroupCommit:
    """One writer for the spool: the messages waiting when a commit starts share its fsyncs."""

    def __init__(self, spool: HL7Spool) -> None:
        self.spool = spool
        self._queue: asyncio.Queue[tuple[bytes, asyncio.Future]] = asyncio.Queue()

    async def store(self, block: bytes) -> None:
        """Return once ``block`` is durable; raise the OSError that kept it from being so."""
        done = asyncio.get_running_loop().create_future()
        await self._queue.put((block, done))
        await done

    async def run(self) -> None:
        """Commit whatever is waiting, as one write, until cancelled."""
        while True:
            waiting = [await self._queue.get()]
            while not self._queue.empty():
                waiting.append(self._queue.get_nowait())
            try:
                await asyncio.to_thread(self.spool.append_many, [b for b, _ in waiting])
            except OSError as error:
                for _, done in waiting:
                    done.set_exception(error)
            else:
                for _, done in waiting:
                    done.set_result(None)


class MLLPReceiver:
    """Accepts connections, judges each message, stores or rejects it, then answers."""

    def __init__(self, spool: HL7Spool, landing: Path, max_message_bytes: int,
                 idle_seconds: float) -> None:
        self.spool = spool
        self.commits = GroupCommit(spool)
        self.rejected = landing / REJECTED
        self.rejected.mkdir(parents=True, exist_ok=True)
        self.max_message_bytes = max_message_bytes
        self.idle_seconds = idle_seconds
        self._connections = count(1)
        self._rejects = count(1)
        self.counts = {"AA": 0, "AE": 0, "AR": 0}

    async def handle(self, reader: hl7.mllp.HL7StreamReader,
                     writer: hl7.mllp.HL7StreamWriter) -> None:
        """Serve one connection until it closes, idles or sends more than a message may be."""
        number = next(self._connections)
        peer = writer.get_extra_info("peername")
        where = f"connection {number} from {peer[0] if peer else '?'}"
        LOG.info("%s: opened", where)
        messages = 0
        try:
            while True:
                try:
                    block = await asyncio.wait_for(reader.readblock(), self.idle_seconds)
                except TimeoutError:
                    LOG.warning("%s: no complete message in %.0f s; closed", where,
                                self.idle_seconds)
                    break
                except asyncio.IncompleteReadError as error:
                    if error.partial:
                        LOG.warning("%s: closed in the middle of a message (%d bytes, not "
                                    "acknowledged)", where, len(error.partial))
                    break
                except ValueError:
                    await self._answer(writer, Verdict(
                        "AR", f"message larger than {self.max_message_bytes} bytes"))
                    LOG.warning("%s: a message over %d bytes; rejected and closed", where,
                                self.max_message_bytes)
                    break
                except InvalidBlockError:
                    verdict = Verdict("AR", "bytes outside an MLLP block")
                    LOG.warning("%s: %s; rejected", where, verdict.reason)
                    await self._answer(writer, verdict)
                    continue
                messages += 1
                await self._receive(block, writer, f"{where}, message {messages}")
        except ConnectionError:
            LOG.warning("%s: the peer went away", where)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()
            LOG.info("%s: closed after %d messages", where, messages)

    async def _receive(self, block: bytes, writer: hl7.mllp.HL7StreamWriter,
                       where: str) -> None:
        verdict = judge(block)
        if verdict.code == "AA":
            try:
                await self.commits.store(block)
            except OSError as error:
                verdict = Verdict("AE", f"the message could not be stored ({error.strerror})",
                                  verdict.message)
                LOG.error("%s: %s", where, verdict.reason)
        if verdict.code != "AA":
            await asyncio.to_thread(self._keep_rejected, block, verdict, where)
            LOG.warning("%s: %s (%s), %d bytes; kept in %s", where, verdict.code,
                        verdict.reason, len(block), REJECTED)
        await self._answer(writer, verdict)

    async def _answer(self, writer: hl7.mllp.HL7StreamWriter, verdict: Verdict) -> None:
        self.counts[verdict.code] += 1
        writer.writeblock(acknowledgement(verdict))
        await writer.drain()

    def _keep_rejected(self, block: bytes, verdict: Verdict, where: str) -> None:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
        name = f"{stamp}_{next(self._rejects):06d}"
        write_atomically(self.rejected / f"{name}.hl7", block)
        write_atomically(self.rejected / f"{name}.reason.txt",
                         f"{verdict.code}: {verdict.reason} ({where})\n".encode())


def tls_context(certificate: str | None, key: str | None,
                client_ca: str | None) -> ssl.SSLContext | None:
    """Return the listener's TLS context, requiring client certificates when a CA is given."""
    if not certificate:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key)
    if client_ca:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


async def serve(args: argparse.Namespace, landing: Path) -> int:
    """Listen until SIGTERM or SIGINT, then roll what is committed into the landing."""
    try:
        spool = HL7Spool(landing, args.roll_bytes, args.roll_seconds)
    except SpoolBusy as error:
        LOG.error("%s", error)
        return 75
    if spool.recovered:
        LOG.warning("landed %d bytes of acknowledged messages a stopped receiver left open",
                    spool.recovered)
    receiver = MLLPReceiver(spool, landing, args.max_message_bytes, args.idle_seconds)
    server = await start_hl7_server(
        receiver.handle, args.host, args.port, limit=args.max_message_bytes,
        ssl=tls_context(args.tls_cert, args.tls_key, args.tls_client_ca))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    address = server.sockets[0].getsockname()
    LOG.info("listening for HL7 over MLLP%s on %s:%d; batches land in %s",
             " with TLS" if args.tls_cert else "", address[0], address[1], spool.target)

    async def roll_by_time() -> None:
        while True:
            await asyncio.sleep(min(1.0, args.roll_seconds))
            await asyncio.to_thread(spool.roll_if_old)

    tasks = [asyncio.create_task(roll_by_time()), asyncio.create_task(receiver.commits.run())]
    await stop.wait()
    server.close()
    for task in tasks:
        task.cancel()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(server.wait_closed(), 5)
    spool.close()
    LOG.info("stopped: %d accepted, %d AE, %d AR; %d batches landed", receiver.counts["AA"],
             receiver.counts["AE"], receiver.counts["AR"], spool.batches_rolled)
    return 0


def main(argv: list[str], landing_default: str) -> int:
    """``referral-warehouse listen-hl7``: the receiver as a long-running service."""
    parser = argparse.ArgumentParser(prog="referral-warehouse listen-hl7",
                                     description="Receive SIU messages over MLLP.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=2575)
    parser.add_argument("--landing", default=landing_default,
                        help="landing folder (default: $RW_LANDING_DIR)")
    parser.add_argument("--roll-bytes", type=int, default=1 << 20,
                        help="land the open batch once it holds this many bytes")
    parser.add_argument("--roll-seconds", type=float, default=60.0,
                        help="land the open batch once it is this old")
    parser.add_argument("--max-message-bytes", type=int, default=1 << 20)
    parser.add_argument("--idle-seconds", type=float, default=120.0,
                        help="close a connection that sends no complete message for this long")
    parser.add_argument("--tls-cert", help="certificate chain (PEM): listen with TLS")
    parser.add_argument("--tls-key", help="the certificate's private key (PEM)")
    parser.add_argument("--tls-client-ca", help="require client certificates signed by this CA")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    return asyncio.run(serve(args, Path(args.landing).absolute()))
