"""The MLLP receiver over real TCP: durable before ``AA``, exactly once after a kill.

The receiver runs as ``referral-warehouse listen-hl7``; the senders are threads speaking MLLP
as an interface engine does (one message in flight per connection, resent on a lost
connection until acknowledged). The receiver is SIGKILLed midway; after a restart every
message acknowledged ``AA`` is in the warehouse's raw SIU table exactly once.
"""

from __future__ import annotations

import datetime
import signal
import ssl
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import duckdb
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from orchestration.extract.hl7_spool import SPOOL, HL7Spool
from tests.conftest import load
from tests.extract.mllp_peer import (
    CLI,
    END,
    START,
    Receiver,
    ack_code,
    connect,
    control_id,
    read_reply,
    scheduling_messages,
    send,
)
from tests.servers.loopback import free_port

SENDERS = 8


def _raw_control_ids(tmp_path: Path, landing: Path, pseudonymizer) -> Counter:
    """Load the scheduling folder into a fresh warehouse; count raw rows per MSH-10."""
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        load(con, landing, "scheduling_siu_messages", pseudonymizer)
        return Counter(row[0] for row in con.execute(
            "select message_control_id from raw.scheduling_siu_messages").fetchall())


def test_every_message_acknowledged_lands_once_though_the_receiver_is_killed(
        tmp_path: Path, pseudonymizer) -> None:
    landing, log = tmp_path / "landing", tmp_path / "receiver.log"
    messages = scheduling_messages(16)  # 240 messages
    shares = [messages[n::SENDERS] for n in range(SENDERS)]
    acked: list[str] = []
    lock, back = threading.Lock(), threading.Event()
    current = {"receiver": Receiver(landing, log, "--roll-bytes", "4000")}

    def sender(share: list[bytes]) -> None:
        pending = list(share)
        connection = connect(current["receiver"].port)
        while pending:
            try:
                code = send(connection, pending[0])
            except OSError:  # the receiver died: reconnect once it is back, resend
                connection.close()
                back.wait(60)
                connection = connect(current["receiver"].port)
                continue
            assert code == "AA"
            with lock:
                acked.append(control_id(pending.pop(0)))
        connection.close()

    threads = [threading.Thread(target=sender, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    while len(acked) < 100:
        time.sleep(0.005)
    current["receiver"].process.send_signal(signal.SIGKILL)
    current["receiver"].process.wait()
    killed_at = len(acked)
    current["receiver"] = Receiver(landing, log, "--roll-bytes", "4000")
    back.set()
    for thread in threads:
        thread.join(120)
    current["receiver"].stop()

    assert 100 <= killed_at < len(messages) and len(acked) == len(messages)
    assert "landed" in log.read_text()  # the restart landed what the killed one left open
    # The stop landed the last batch: none is left open, and every acknowledged message is in
    # the landing below. (Comparing the landing before and after the stop failed whenever the
    # last message had filled a batch, which then rolled before the stop.)
    assert not list((landing / SPOOL).glob("*.open*"))
    counts = _raw_control_ids(tmp_path, landing, pseudonymizer)
    assert set(counts) == set(acked) and set(counts.values()) == {1}
    # Messages, never their content, in the receiver's log.
    assert not [word for word in ("MRN1", "HEART", "HANA", "RIVERBEND") if word in
                log.read_text()]


def test_bad_input_gets_the_right_answer_and_stops_no_other_connection(
        tmp_path: Path, pseudonymizer) -> None:
    landing, log = tmp_path / "landing", tmp_path / "receiver.log"
    receiver = Receiver(landing, log, "--max-message-bytes", "4096", "--idle-seconds", "2",
                        "--roll-seconds", "0.2")
    good = scheduling_messages(1)
    slow = connect(receiver.port)
    slow.sendall(START + good[0][:20])  # a slow loris: half a header, then nothing
    answers = {}
    with connect(receiver.port) as garbage:
        garbage.sendall(b"\x00\xffnot hl7 at all" + END)
        answers["garbage"] = ack_code(read_reply(garbage))
        answers["no MSH"] = send(garbage, b"PID|1||MRN1^^^RIVERBEND^MR")
        answers["not scheduling"] = send(garbage, good[0].replace(b"SIU^S12^SIU_S12",
                                                                  b"ADT^A01^ADT_A01"))
        fields = good[0].split(b"|")
        fields[9] = b""
        answers["no control id"] = send(garbage, b"|".join(fields))
    with connect(receiver.port) as oversize:
        oversize.sendall(START + good[0] + b"\rNTE|" + b"x" * 8000 + END)
        answers["oversize"] = ack_code(read_reply(oversize))
        answers["closed after oversize"] = read_reply(oversize, 5) == b""
    with connect(receiver.port) as healthy:  # meanwhile, on another connection
        answers["good"] = [send(healthy, message) for message in good]
    slow.settimeout(10)
    answers["slow loris closed"] = slow.recv(100) == b""
    receiver.stop()

    assert answers == {"garbage": "AR", "no MSH": "AR", "not scheduling": "AR",
                       "no control id": "AE", "oversize": "AR", "closed after oversize": True,
                       "good": ["AA"] * len(good), "slow loris closed": True}
    reasons = sorted(p.read_text().split(" (connection")[0]
                     for p in (landing / "rejected" / "mllp").glob("*.reason.txt"))
    assert reasons == ["AE: MSH-10 (message control id) is empty",
                       "AR: MSH-9 is not a scheduling (SIU) message",
                       "AR: no MSH segment at the start"]
    counts = _raw_control_ids(tmp_path, landing, pseudonymizer)
    assert sorted(counts) == sorted(control_id(m) for m in good)
    assert "MRN1" not in log.read_text()


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    cert, key_file = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert, key_file


def test_the_receiver_speaks_tls_and_refuses_plain_text_then(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    receiver = Receiver(tmp_path / "landing", tmp_path / "receiver.log",
                        "--tls-cert", str(cert), "--tls-key", str(key))
    context = ssl.create_default_context(cafile=str(cert))
    with connect(receiver.port, context) as secure:
        assert send(secure, scheduling_messages(1)[0]) == "AA"
    with connect(receiver.port) as plain:
        plain.sendall(START + scheduling_messages(1)[1] + END)
        assert read_reply(plain, 5) == b""  # the handshake fails; nothing is stored
    receiver.stop()
    assert len(list((tmp_path / "landing" / "scheduling").glob("*.hl7"))) == 1


def test_a_restart_lands_the_acknowledged_bytes_and_cuts_a_torn_tail(tmp_path: Path) -> None:
    """The open batch a killed receiver left: its committed length decides what lands."""
    messages = scheduling_messages(1)[:3]
    spool = HL7Spool(tmp_path, roll_bytes=1 << 20)
    for message in messages[:2]:
        spool.append(message)
    # The third message half written when the process died, never acknowledged.
    open_batch = next((tmp_path / SPOOL).glob("*.hl7.open"))
    with open_batch.open("ab") as out:
        out.write(messages[2][:40])
    spool._holder.close()  # the killed process's lock goes with it
    again = HL7Spool(tmp_path)
    again.close()
    landed = list((tmp_path / "scheduling").glob("*.hl7"))
    assert len(landed) == 1
    assert landed[0].read_bytes() == b"".join(m + b"\r" for m in messages[:2])
    assert again.recovered == len(landed[0].read_bytes())


def test_two_receivers_never_share_a_spool(tmp_path: Path) -> None:
    first = Receiver(tmp_path / "landing", tmp_path / "first.log")
    second = subprocess.run([str(CLI), "listen-hl7", "--port", str(free_port()), "--landing",
                             str(tmp_path / "landing")], capture_output=True, text=True,
                            timeout=60)
    first.stop()
    assert second.returncode == 75 and "another receiver" in second.stderr
