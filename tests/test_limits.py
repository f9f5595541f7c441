"""Bounds on what one request or one document may cost: body size (streamed, after the key
check), pages, OCR pages and time, unpacked size, image pixels; and one slow document does
not hold the other writers."""

import io
import socket
import threading
import time
import zipfile

import httpx
import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, NumberObject

from service.api import create_app
from tests.conftest import API_KEY, api_client, api_settings, needs_ocr, served

KEY = {"X-API-Key": API_KEY}


def blank_pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _raw_request(base: str, head: bytes, body_part: bytes) -> bytes:
    """Send the head and only the first bytes of a (much larger) body; return what the server answers."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(head + body_part)
        answer = b""
        while b"}" not in answer:  # the JSON body may come in a second packet
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


# --- request bodies -------------------------------------------------------------------
def test_credentials_are_checked_before_the_body_is_read(tmp_path, embedder):
    settings = api_settings(tmp_path, embedder, max_upload_mb=1)
    with served(create_app(settings, embedder)) as base:
        head = (b"POST /api/documents HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                b"Content-Length: 1073741824\r\n\r\n")
        # an anonymous 1 GiB upload: answered after 64 KB, the rest never sent
        answer = _raw_request(base, head, b"x" * 65536)
        assert answer.startswith(b"HTTP/1.1 401")
        # with the right key, the declared size alone is enough for a 413
        answer = _raw_request(base, head.replace(b"Host: x\r\n", f"Host: x\r\nX-API-Key: {API_KEY}\r\n".encode()),
                              b"x" * 65536)
        assert answer.startswith(b"HTTP/1.1 413") and "höchstens 1 MB".encode() in answer


def test_a_streamed_body_over_the_limit_is_refused_and_leaves_nothing(tmp_path, embedder):
    settings = api_settings(tmp_path, embedder, max_upload_mb=1)

    def body():  # chunked: no Content-Length to trust
        head = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"gross.md\"\r\n\r\n# Gross\n\n"
        yield head
        for _ in range(40):
            yield b"Text " * 13_000  # 65 KB
        yield b"\r\n--b--\r\n"

    with served(create_app(settings, embedder)) as base:
        index = settings.index
        before = {p for p in index.rglob("*") if not p.name.startswith("amtswissen.sqlite")}
        try:
            r = httpx.post(f"{base}/api/documents", content=body(), timeout=60,
                           headers={**KEY, "content-type": "multipart/form-data; boundary=b"})
            assert r.status_code == 413 and "zu groß" in r.json()["detail"]
        except httpx.HTTPError:
            pass  # the server may close the connection while the client still sends: also a refusal
        after = {p for p in index.rglob("*") if not p.name.startswith("amtswissen.sqlite")}
        assert after - before <= {index / ".staging"}
        assert httpx.get(f"{base}/api/health").json()["documents"] == 1


def test_small_requests_are_limited_too(tmp_path, embedder):
    with api_client(tmp_path, embedder) as client:
        r = client.post("/verwaltung/anmelden", content=b"schluessel=" + b"x" * 200_000,
                        headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413


# --- document bombs ---------------------------------------------------------------------
@pytest.fixture()
def strict(tmp_path, embedder):
    with api_client(tmp_path, embedder, max_pages=50, max_ocr_pages=5, max_unpacked_mb=10,
                    max_image_megapixels=50) as client:
        yield client


def _refused(client, name: str, data: bytes) -> str:
    r = client.post("/api/documents", files={"file": (name, data)}, headers=KEY)
    assert r.status_code == 422, r.text
    assert client.get("/api/health").json()["documents"] == 1
    return r.json()["detail"]


def test_a_pdf_with_too_many_pages_is_refused_before_reading(strict):
    started = time.perf_counter()
    detail = _refused(strict, "leer.pdf", blank_pdf(2500))
    assert "2.500 Seiten" in detail and "höchstens 50" in detail
    runs = strict.get("/api/ingest/runs", headers=KEY).json()
    assert runs[0]["report"]["failed"][0]["reason"] == detail  # the reason is in the ingest report
    assert time.perf_counter() - started < 60  # not hours (a bound, not a timing claim)


@needs_ocr
def test_a_pdf_needing_too_much_ocr_is_refused_without_ocr(strict):
    detail = _refused(strict, "leer.pdf", blank_pdf(30))
    assert "30 Seiten" in detail and "Texterkennung" in detail and "höchstens 5" in detail


@needs_ocr
def test_ocr_time_per_document_is_bounded(tmp_path, embedder):
    with api_client(tmp_path, embedder, max_ocr_seconds=0.3) as client:
        detail = _refused(client, "leer.pdf", blank_pdf(5))
        assert "länger als" in detail and "AMTSWISSEN_MAX_OCR_SECONDS" in detail


@needs_ocr
def test_a_page_image_too_large_to_decode_is_refused(strict):
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    image = DecodedStreamObject()
    image.set_data(b"\x00" * 16)
    image.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
                  NameObject("/Width"): NumberObject(100_000), NameObject("/Height"): NumberObject(100_000),
                  NameObject("/ColorSpace"): NameObject("/DeviceGray"), NameObject("/BitsPerComponent"): NumberObject(8)})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/XObject"): DictionaryObject({NameObject("/Im0"): writer._add_object(image)})})
    out = io.BytesIO()
    writer.write(out)
    detail = _refused(strict, "bild.pdf", out.getvalue())
    assert "10000 Megapixeln" in detail


def test_a_docx_that_unpacks_too_large_is_refused_before_inflating(strict):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"<w:document>" + b" " * (30 * 1024 * 1024) + b"</w:document>")
    assert len(out.getvalue()) < 200_000  # small on the wire
    detail = _refused(strict, "bombe.docx", out.getvalue())
    assert "30 MB" in detail and "höchstens 10 MB" in detail


def test_a_mail_whose_attachments_unpack_too_large_is_refused(strict):
    import email.message

    msg = email.message.EmailMessage()
    msg["Subject"] = "Anhänge"
    msg.set_content("Siehe Anhänge.")
    for i in range(3):
        msg.add_attachment(b"a" * (4 * 1024 * 1024), maintype="text", subtype="plain", filename=f"teil{i}.txt")
    detail = _refused(strict, "post.eml", msg.as_bytes())
    assert "Anhänge der E-Mail" in detail


# --- one slow document does not hold the other writers ----------------------------------
@needs_ocr
def test_other_writes_go_on_while_a_document_is_ocred(tmp_path, embedder):
    settings = api_settings(tmp_path, embedder)
    finished: list[str] = []
    with served(create_app(settings, embedder)) as base:
        def slow():
            r = httpx.post(f"{base}/api/documents", files={"file": ("scan.pdf", blank_pdf(25))}, headers=KEY,
                           timeout=600)
            finished.append(f"scan {r.status_code}")

        t = threading.Thread(target=slow)
        t.start()
        for _ in range(600):  # wait until the scan is staged and being read
            if list((settings.index / ".staging").glob("*/scan.pdf")):
                break
            time.sleep(0.05)
        time.sleep(1.0)
        r = httpx.post(f"{base}/api/documents", files={"file": ("fund.md", b"# Fund\n\nFundsachen: sechs Monate.\n")},
                       headers=KEY, timeout=600)
        finished.append(f"fund {r.status_code}")
        deleted = httpx.delete(f"{base}/api/documents/{r.json()['id']}", headers=KEY, timeout=600)
        finished.append(f"delete {deleted.status_code}")
        scan_running = t.is_alive()
        t.join()
    assert scan_running, finished  # the small upload and the delete did not wait for the scan's OCR
    assert finished[:2] == ["fund 201", "delete 204"]


def test_docx_attachments_count_towards_the_mails_budget(strict):
    import email.message

    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"<w:document>" + b" " * (6 * 1024 * 1024) + b"</w:document>")
    msg = email.message.EmailMessage()
    msg["Subject"] = "Zwei Bescheide"
    msg.set_content("Anbei zwei Bescheide.")
    for i in range(2):  # each under the 10 MB bound, together over it
        msg.add_attachment(docx.getvalue(), maintype="application", subtype="octet-stream", filename=f"b{i}.docx")
    assert "Anhänge der E-Mail" in _refused(strict, "post.eml", msg.as_bytes())


def test_reading_time_per_document_is_bounded(tmp_path, embedder):
    with api_client(tmp_path, embedder, max_read_seconds=0.000001) as client:
        assert "AMTSWISSEN_MAX_READ_SECONDS" in _refused(client, "leer.pdf", blank_pdf(3))
