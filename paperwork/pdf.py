"""PDF from .docx with LibreOffice headless (Debian's libreoffice-writer-nogui).

Each conversion gets its own LibreOffice user profile (-env:UserInstallation), copied
from one initialised profile: two conversions sharing a profile block each other or fail,
and several gunicorn workers and the worker process convert at once. The fonts the templates name (仿宋, 小标宋, 黑体)
are mapped to the installed Noto CJK fonts by fonts/fonts.conf.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

FONTS_CONF = Path(__file__).with_name("fonts") / "fonts.conf"
DEFAULT_TIMEOUT = 60


class PdfError(RuntimeError):
    """The conversion failed; the message is shown to the user."""


def _timeout() -> float:
    try:
        return float(os.environ.get("ZHIFA_PDF_TIMEOUT", DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


_seed_lock = threading.Lock()


def _seed_profile(program: str, timeout: float) -> Path | None:
    """A user profile LibreOffice has initialised once (first start costs seconds); each
    conversion starts from a copy of it. None if it cannot be made (each run then starts fresh)."""
    seed = Path(tempfile.gettempdir()) / f"zhifa-lo-profile-{os.getuid()}"
    with _seed_lock:
        if (seed / "user").is_dir():
            return seed
        building = Path(tempfile.mkdtemp(prefix="zhifa-lo-seed-"))
        try:
            _run(program, building, b"", "seed.txt", timeout)
            try:
                building.joinpath("profile").rename(seed)  # atomic: another process may have won
            except OSError:
                pass
        except PdfError:
            return None
        finally:
            shutil.rmtree(building, ignore_errors=True)
        return seed if (seed / "user").is_dir() else None


def _run(program: str, work_dir: Path, data: bytes, name: str, timeout: float) -> bytes:
    source = work_dir / name
    source.write_bytes(data)
    env = {**os.environ, "FONTCONFIG_FILE": str(FONTS_CONF), "HOME": str(work_dir), "SAL_USE_VCLPLUGIN": "svp"}
    command = [program, f"-env:UserInstallation={(work_dir / 'profile').as_uri()}",
               "--headless", "--norestore", "--nologo", "--nolockcheck", "--nodefault",
               "--convert-to", "pdf", "--outdir", str(work_dir), str(source)]
    process = subprocess.Popen(command, cwd=work_dir, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # soffice.bin is a child of the wrapper script
        process.communicate()
        raise PdfError(f"生成 PDF 超时（超过 {timeout:g} 秒），请稍后重试；多次出现请联系系统管理员") from None
    result = source.with_suffix(".pdf")
    if process.returncode != 0 or not result.exists():
        detail = output.decode("utf-8", "replace").strip()[-300:]
        raise PdfError(f"生成 PDF 失败（LibreOffice 退出码 {process.returncode}）：{detail or '无输出'}")
    return result.read_bytes()


def to_pdf(docx: bytes, timeout: float | None = None) -> bytes:
    program = soffice()
    if not program:
        raise PdfError("服务器未安装 LibreOffice，无法生成 PDF（请在服务器上运行 make office，或安装 libreoffice-writer-nogui 与 fonts-noto-cjk）")
    timeout = timeout or _timeout()
    seed = _seed_profile(program, timeout)
    with tempfile.TemporaryDirectory(prefix="zhifa-pdf-") as work:
        if seed is not None:
            shutil.copytree(seed, Path(work) / "profile", symlinks=True)
        return _run(program, Path(work), docx, "document.docx", timeout)
