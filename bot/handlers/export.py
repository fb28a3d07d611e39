"""/export [csv|json]: everything the user may see, as a file."""
from __future__ import annotations

import tempfile
from pathlib import Path

from bot.context import Context
from bot.handlers import command
from bot.messages import FileOut, Reply
from core.services.export import export_data


@command("export")
def export(ctx: Context) -> list[Reply]:
    fmt = (ctx.args[0].lower() if ctx.args else "csv").lstrip(".")
    text = export_data(ctx.s, ctx.user, fmt)
    folder = Path(tempfile.mkdtemp(prefix="mammoth-export-"))
    name = f"mammoth-{ctx.user.login}-{ctx.now_local:%Y%m%d-%H%M}.{fmt}"
    path = folder / name
    # utf-8-sig for CSV so that Excel opens Chinese text correctly
    path.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
    return [Reply(ctx.t(f"export.done.{fmt}"), file=FileOut(path=str(path), name=name, caption=name))]
