"""Generate the demo 武器云 (sales material) library shipped in this folder.

    .venv/bin/python materials/make_samples.py            # writes into materials/
    .venv/bin/python materials/make_samples.py /tmp/out   # writes elsewhere

Output is deterministic: PDFs are written with reportlab's ``invariant`` mode, the PNG is
drawn from fixed shapes, and the xlsx/pptx zips are re-packed with fixed timestamps and
fixed document properties, so regenerating gives byte-identical files (with the same
library versions). Every file stays well under 200 KB. The only Chinese font used is
reportlab's built-in CID font STSong-Light, so no font file has to be shipped; the PNG
carries ASCII text only.

Needs the ``materials`` extra: reportlab, Pillow, openpyxl, python-pptx.
"""
from __future__ import annotations

import io
import math
import re
import sys
import zipfile
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent

FIXED_DT = datetime(2026, 1, 1, 9, 0, 0)
FIXED_ZIP_DT = (2026, 1, 1, 9, 0, 0)
FIXED_W3CDTF = "2026-01-01T09:00:00Z"
AUTHOR = "猛犸微助 Mammoth"

CN_FONT = "STSong-Light"

# Brand palette (RGB 0-255) shared by every file.
NAVY = (22, 48, 92)
TEAL = (0, 150, 160)
ORANGE = (240, 128, 32)
LIGHT = (236, 242, 248)
GREY = (110, 118, 130)


# --------------------------------------------------------------------------------------
# shared data
# --------------------------------------------------------------------------------------

# 车型, 指导价, 优惠 (元). 落地价 is computed (see _landing_price) so the sheet adds up.
CAR_ROWS = [
    ("猛犸 M3 1.5T 舒适版", 129_800, 8_000),
    ("猛犸 M3 1.5T 豪华版", 145_800, 10_000),
    ("猛犸 M5 2.0T 两驱精英版", 189_800, 12_000),
    ("猛犸 M5 2.0T 四驱旗舰版", 229_800, 15_000),
    ("猛犸 M7 2.0T 七座尊享版", 276_800, 18_000),
    ("猛犸 E6 纯电 长续航版", 199_800, 10_000),
]
INSURANCE = 6_500      # 首年交强险 + 商业险 (示例估算)
PLATE_FEE = 500        # 上牌服务费


def _landing_price(model: str, guide: int, discount: int) -> tuple[int, int]:
    """(购置税, 落地价). Purchase tax is 10% of the pre-VAT price; the EV row is shown
    with the 2026-27 halved rate (5%)."""
    net = guide - discount
    rate = 0.05 if "纯电" in model else 0.10
    tax = int(round(net / 1.13 * rate, -1))
    return tax, net + tax + INSURANCE + PLATE_FEE


B2B_ROWS = [
    # 产品/服务, 计费方式, 标准价, 说明
    ("猛犸微助 基础版", "元/账号/年", "1,980", "客户管理、跟进提醒、武器云素材库"),
    ("猛犸微助 专业版", "元/账号/年", "3,980", "基础版 + 三一客流程、漏斗分析、成交预测"),
    ("猛犸微助 企业版", "元/账号/年", "6,800", "专业版 + 多组织、审批流、开放接口"),
    ("实施与数据迁移", "元/项目", "20,000 起", "历史客户导入、流程配置、上线陪跑 2 周"),
    ("培训服务", "元/天", "5,000", "现场或线上,每场不超过 30 人"),
    ("私有化部署", "元/套", "面议", "本地服务器或专有云,含一年运维"),
]
B2B_DISCOUNTS = [
    "50 个账号以上享 9 折,200 个账号以上享 8 折;三年合同额外 95 折。",
    "首年费用含标准服务(工作日 9:00-18:00 在线支持,4 小时响应)。",
    "以上价格不含税,增值税专用发票税率 6%。报价有效期 30 天。",
]


# --------------------------------------------------------------------------------------
# PDFs (reportlab)
# --------------------------------------------------------------------------------------

def _pdf_styles():
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CN_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CN_FONT))
    navy = colors.Color(*(c / 255 for c in NAVY))
    grey = colors.Color(*(c / 255 for c in GREY))
    base = dict(fontName=CN_FONT, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", fontSize=20, leading=26, textColor=navy, spaceAfter=4, **base),
        "subtitle": ParagraphStyle("subtitle", fontSize=10, leading=14, textColor=grey, spaceAfter=10, **base),
        "h2": ParagraphStyle("h2", fontSize=13, leading=18, textColor=navy, spaceBefore=10, spaceAfter=6, **base),
        "body": ParagraphStyle("body", fontSize=9.5, leading=14, **base),
        "cell": ParagraphStyle("cell", fontSize=9, leading=12, **base),
        "note": ParagraphStyle("note", fontSize=8.5, leading=12, textColor=grey, spaceBefore=4, **base),
    }


def _table_style(header_rows: int = 1, align_right_from: int | None = None):
    from reportlab.lib import colors
    from reportlab.platypus import TableStyle

    navy = colors.Color(*(c / 255 for c in NAVY))
    light = colors.Color(*(c / 255 for c in LIGHT))
    cmds = [
        ("FONTNAME", (0, 0), (-1, -1), CN_FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), navy),
        ("TEXTCOLOR", (0, 0), (-1, header_rows - 1), colors.white),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ROWBACKGROUNDS", (0, header_rows), (-1, -1), [colors.white, light]),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.Color(0.75, 0.78, 0.82)),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    if align_right_from is not None:
        cmds.append(("ALIGN", (align_right_from, header_rows), (-1, -1), "RIGHT"))
    return TableStyle(cmds)


def _footer(canvas, doc):
    canvas.saveState()
    canvas.setFont(CN_FONT, 8)
    canvas.setFillColorRGB(*(c / 255 for c in GREY))
    canvas.drawString(doc.leftMargin, 12 * 2.835,
                      "猛犸微助 | 武器云示例素材 | 所有价格仅为演示数据,不构成要约")
    canvas.drawRightString(doc.pagesize[0] - doc.rightMargin, 12 * 2.835, f"第 {doc.page} 页")
    canvas.restoreState()


def _build_pdf(path: Path, title: str, subject: str, story: list) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    doc = SimpleDocTemplate(
        str(path), pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
        topMargin=16 * mm, bottomMargin=20 * mm,
        title=title, author=AUTHOR, subject=subject, creator="materials/make_samples.py",
        invariant=1,   # fixed creation date and document id -> byte-stable output
    )
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)


def _gap(*parts: str) -> str:
    """Join paragraph fragments with visible gaps (Paragraph collapses plain spaces)."""
    return ("&nbsp;" * 6).join(parts)


def _yuan(v: int) -> str:
    return f"{v:,}"


def make_price_sheet(out: Path) -> Path:
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, Spacer, Table

    st = _pdf_styles()
    story = [
        Paragraph("2026款车型价格表", st["title"]),
        Paragraph("猛犸汽车授权经销商 | 2026年1月版 | 单位:元", st["subtitle"]),
        Paragraph("一、整车价格(含本月优惠)", st["h2"]),
    ]
    rows = [["车型", "指导价", "优惠", "购置税", "保险+上牌", "落地价"]]
    for model, guide, discount in CAR_ROWS:
        tax, landing = _landing_price(model, guide, discount)
        rows.append([model, _yuan(guide), "-" + _yuan(discount), _yuan(tax),
                     _yuan(INSURANCE + PLATE_FEE), _yuan(landing)])
    t = Table(rows, colWidths=[58 * mm, 22 * mm, 20 * mm, 20 * mm, 24 * mm, 26 * mm], repeatRows=1)
    t.setStyle(_table_style(align_right_from=1))
    story += [t, Spacer(1, 4 * mm)]
    story.append(Paragraph(
        "落地价 = 指导价 - 优惠 + 购置税 + 首年保险(约 6,500 元)+ 上牌服务费 500 元。"
        "购置税按不含增值税价的 10% 计算,纯电车型按 2026 年减半政策 5% 计算。"
        "实际金额以签约当日开票价和保险公司报价为准。", st["note"]))

    story.append(Paragraph("二、本月购车政策", st["h2"]))
    policies = [
        ["政策", "内容"],
        ["置换补贴", "本品牌置换 8,000 元,他品牌置换 5,000 元(与现金优惠同享)"],
        ["金融贴息", "首付 30% 起,24 期 0 利率或 36 期年化 2.99%"],
        ["到店礼", "预约试驾到店即送车载香氛一套;订车送 3 次免费基础保养"],
        ["延保", "加 2,980 元享整车 5 年 / 15 万公里延保"],
    ]
    t = Table(policies, colWidths=[30 * mm, 140 * mm])
    t.setStyle(_table_style())
    story += [t, PageBreak()]

    story += [
        Paragraph("企业软件与服务价格表", st["title"]),
        Paragraph("猛犸微助 CRM | B2B 标准报价 | 2026年1月版", st["subtitle"]),
        Paragraph("一、订阅与服务", st["h2"]),
    ]
    rows = [["产品/服务", "计费方式", "标准价", "说明"]]
    for name, unit, price, desc in B2B_ROWS:
        rows.append([Paragraph(name, st["cell"]), unit, price, Paragraph(desc, st["cell"])])
    t = Table(rows, colWidths=[38 * mm, 26 * mm, 24 * mm, 82 * mm], repeatRows=1)
    t.setStyle(_table_style())
    story += [t, Paragraph("二、折扣与条款", st["h2"])]
    for i, line in enumerate(B2B_DISCOUNTS, start=1):
        story.append(Paragraph(f"{i}. {line}", st["body"]))
    story.append(Paragraph("三、报价示例(100 个账号,专业版,一年)", st["h2"]))
    seats, unit = 100, 3_980
    subtotal = seats * unit
    discounted = int(subtotal * 0.9)
    example = [
        ["项目", "数量", "单价", "金额"],
        ["猛犸微助 专业版", f"{seats}", _yuan(unit), _yuan(subtotal)],
        ["50 账号以上 9 折", "", "", "-" + _yuan(subtotal - discounted)],
        ["实施与数据迁移", "1", _yuan(20_000), _yuan(20_000)],
        ["合计(不含税)", "", "", _yuan(discounted + 20_000)],
    ]
    t = Table(example, colWidths=[70 * mm, 25 * mm, 35 * mm, 40 * mm])
    style = _table_style(align_right_from=1)
    style.add("LINEABOVE", (0, -1), (-1, -1), 1, style.getCommands()[2][3])
    t.setStyle(style)
    story.append(t)

    path = out / "price_sheet.pdf"
    _build_pdf(path, "2026款车型价格表 / 企业软件与服务价格表", "价格表", story)
    return path


def make_test_drive_checklist(out: Path) -> Path:
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table

    st = _pdf_styles()
    story = [
        Paragraph("试乘试驾检查表", st["title"]),
        Paragraph(_gap("客户姓名:__________", "联系电话:______________", "试驾车型:______________",
                       "日期:____年__月__日"), st["subtitle"]),
    ]
    sections = [
        ("一、试驾前准备", [
            "核对客户驾驶证原件并复印存档,签署《试乘试驾协议》",
            "车辆外观、内饰清洁,油量/电量不少于一半",
            "调好座椅、后视镜、空调温度,连接好客户手机蓝牙/CarPlay",
            "向客户说明试驾路线(城市道路约 5 公里 + 快速路约 3 公里)与安全注意事项",
        ]),
        ("二、试乘环节(销售顾问驾驶)", [
            "演示起步平顺性和低速蠕行",
            "演示车道保持、自适应巡航等驾驶辅助功能",
            "请客户体验后排空间与乘坐舒适性",
        ]),
        ("三、试驾环节(客户驾驶)", [
            "起步与加速:感受动力响应",
            "静音:快速路 80 km/h 时车内噪音",
            "底盘:过减速带、弯道时的支撑与滤震",
            "刹车:脚感与制动距离",
            "泊车:倒车影像、360 全景、自动泊车",
        ]),
        ("四、试驾后", [
            "请客户填写满意度评分(1-5 分)并记录顾虑点",
            "回到洽谈区,结合价格表给出落地价方案",
            "在猛犸微助中记录试驾结果,设置 24 小时内回访提醒",
        ]),
    ]
    for heading, items in sections:
        story.append(Paragraph(heading, st["h2"]))
        rows = [["检查项", "完成", "备注"]] + [[Paragraph(i, st["cell"]), "□", ""] for i in items]
        t = Table(rows, colWidths=[120 * mm, 16 * mm, 38 * mm])
        style = _table_style()
        style.add("ALIGN", (1, 0), (1, -1), "CENTER")
        t.setStyle(style)
        story.append(t)
    story += [
        Spacer(1, 6 * mm),
        Paragraph(_gap("客户满意度:□1 □2 □3 □4 □5", "客户签字:__________",
                       "销售顾问签字:__________"), st["body"]),
    ]
    path = out / "test_drive_checklist.pdf"
    _build_pdf(path, "试乘试驾检查表", "试乘试驾", story)
    return path


def make_case_study(out: Path) -> Path:
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table

    st = _pdf_styles()
    story = [
        Paragraph("客户案例", st["title"]),
        Paragraph("来自使用猛犸微助的两家客户(已脱敏,数据为演示用途)", st["subtitle"]),
        Paragraph("案例一:某汽车 4S 店集团 —— 来电到店率提升 38%", st["h2"]),
        Paragraph(
            "背景:集团旗下 6 家门店、80 名销售顾问,来电线索靠纸质登记,回访靠个人记忆,"
            "约三成来电客户在一周内失联。", st["body"]),
        Paragraph(
            "做法:全员在企业微信里用猛犸微助登记来电,按“三一客”八个动作推进;"
            "系统在每个节点推送话术和武器云素材(价格表、试驾检查表),超期未跟进自动提醒店长。",
            st["body"]),
        Spacer(1, 3 * mm),
    ]
    kpi = [
        ["指标", "上线前", "上线 3 个月后", "变化"],
        ["来电到店率", "21%", "29%", "+38%"],
        ["试驾到成交率", "32%", "37%", "+5 个百分点"],
        ["平均成交周期", "19 天", "14 天", "-5 天"],
        ["48 小时回访完成率", "45%", "92%", "+47 个百分点"],
    ]
    t = Table(kpi, colWidths=[50 * mm, 35 * mm, 40 * mm, 45 * mm])
    t.setStyle(_table_style(align_right_from=1))
    story += [t, Paragraph(
        "“以前店长每周开会追进度,现在手机上一眼就能看到谁的客户卡在哪一步。”—— 集团销售总监 王女士",
        st["note"])]

    story += [
        Paragraph("案例二:某工业软件公司 —— 回款周期缩短 23 天", st["h2"]),
        Paragraph(
            "背景:12 人的大客户团队,项目周期 3-6 个月,报价与合同版本散落在各人电脑里,"
            "谈判阶段经常因为条款反复而拖延。", st["body"]),
        Paragraph(
            "做法:把线索确认到回款的七个动作配置为 B2B 流程;报价单模板、方案演示 PPT 和"
            "客户案例统一放进武器云,按节点推荐;商务谈判节点设置审批,回款节点自动提醒。",
            st["body"]),
        Spacer(1, 3 * mm),
    ]
    kpi = [
        ["指标", "上线前", "上线半年后", "变化"],
        ["赢单率", "18%", "24%", "+6 个百分点"],
        ["平均回款周期", "61 天", "38 天", "-23 天"],
        ["报价出错次数 / 月", "7 次", "1 次", "-86%"],
    ]
    t = Table(kpi, colWidths=[50 * mm, 35 * mm, 40 * mm, 45 * mm])
    t.setStyle(_table_style(align_right_from=1))
    story += [t, Paragraph(
        "“客户问到同行案例时,销售直接在聊天里转发这份材料,谈判明显顺了。”—— 销售副总裁 李先生",
        st["note"])]
    path = out / "case_study.pdf"
    _build_pdf(path, "客户案例", "客户案例", story)
    return path


# --------------------------------------------------------------------------------------
# PNG (Pillow)
# --------------------------------------------------------------------------------------

PHOTO_SIZE = (800, 500)


def make_product_photo(out: Path) -> Path:
    """A stylised SUV, drawn at 2x and downsampled for smooth edges."""
    from PIL import Image, ImageDraw, ImageFont

    W, H = PHOTO_SIZE
    S = 2
    w, h = W * S, H * S
    img = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(img)

    # Studio gradient background: deep navy at the top to pale blue at the floor line.
    horizon = int(h * 0.68)
    top, bottom = (18, 32, 64), (150, 186, 220)
    for y in range(horizon):
        t = y / horizon
        d.line([(0, y), (w, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))
    floor_top, floor_bottom = (205, 212, 222), (120, 128, 140)
    for y in range(horizon, h):
        t = (y - horizon) / (h - horizon)
        d.line([(0, y), (w, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(floor_top, floor_bottom)))

    def P(*pts):  # scale design coordinates (800x500 space) to the 2x canvas
        return [(x * S, y * S) for x, y in pts]

    # Shadow under the car.
    d.ellipse(P((150, 380), (670, 408)), fill=(112, 118, 130))

    body = (196, 32, 48)
    body_dark = (140, 20, 34)
    # Lower body.
    d.rounded_rectangle(P((140, 260), (680, 360)), radius=28 * S, fill=body)
    # Cabin / greenhouse.
    d.polygon(P((215, 262), (290, 185), (545, 180), (625, 262)), fill=body)
    # Windows.
    glass = (58, 84, 120)
    d.polygon(P((240, 258), (300, 197), (405, 195), (405, 258)), fill=glass)
    d.polygon(P((418, 258), (418, 194), (535, 192), (595, 258)), fill=glass)
    d.polygon(P((300, 200), (330, 200), (280, 252), (255, 252)), fill=(120, 150, 190))  # glare
    # Character line and sills.
    d.line(P((150, 292), (670, 292)), fill=body_dark, width=3 * S)
    d.rectangle(P((220, 340), (600, 352)), fill=(40, 40, 46))
    # Door handles.
    d.rounded_rectangle(P((360, 272), (385, 278)), radius=3 * S, fill=body_dark)
    d.rounded_rectangle(P((480, 272), (505, 278)), radius=3 * S, fill=body_dark)
    # Lights: headlight at the front (right), tail light at the back (left).
    d.polygon(P((640, 270), (676, 276), (676, 296), (636, 290)), fill=(255, 244, 200))
    d.polygon(P((142, 272), (170, 270), (168, 290), (142, 292)), fill=(255, 90, 60))
    # Front grille and bumper.
    d.rounded_rectangle(P((650, 310), (678, 336)), radius=5 * S, fill=(35, 35, 40))

    # Wheels: tyre, rim, spokes, hub.
    for cx in (255, 565):
        cy, r = 355, 50
        d.ellipse(P((cx - r - 8, cy - r - 8), (cx + r + 8, cy + r + 8)), fill=body_dark)  # arch
        d.ellipse(P((cx - r, cy - r), (cx + r, cy + r)), fill=(28, 28, 32))
        d.ellipse(P((cx - 31, cy - 31), (cx + 31, cy + 31)), fill=(196, 200, 208))
        for k in range(5):
            a = math.radians(90 + k * 72)
            d.line(P((cx, cy), (cx + 28 * math.cos(a), cy - 28 * math.sin(a))),
                   fill=(120, 124, 132), width=7 * S)
        d.ellipse(P((cx - 9, cy - 9), (cx + 9, cy + 9)), fill=(60, 62, 70))

    # Title text (ASCII only: no CJK font file is guaranteed on the machine).
    title = ImageFont.load_default(size=46 * S)
    small = ImageFont.load_default(size=18 * S)
    d.text((48 * S, 40 * S), "MAMMOTH M5", font=title, fill=(255, 255, 255))
    d.text((50 * S, 100 * S), "2.0T AWD  |  7-inch HUD  |  L2 ADAS", font=small, fill=(200, 215, 235))
    # Price tag badge.
    d.rounded_rectangle(P((590, 40), (760, 100)), radius=12 * S, fill=ORANGE)
    d.text((675 * S, 70 * S), "FROM 189,800", font=small, fill=(255, 255, 255), anchor="mm")

    img = img.resize((W, H), Image.LANCZOS)
    # A 256-colour palette keeps the file small without visible banding at this size.
    img = img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    path = out / "product_photo.png"
    img.save(path, format="PNG", optimize=True)
    return path


# --------------------------------------------------------------------------------------
# Office files: make the zip containers reproducible
# --------------------------------------------------------------------------------------

_CORE_DATES = re.compile(
    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def _normalise_ooxml(path: Path, cached: dict[str, dict[str, float]] | None = None) -> None:
    """Re-pack an OOXML zip with fixed entry timestamps and fixed core-property dates.

    ``cached`` maps a worksheet part (``xl/worksheets/sheet1.xml``) to {cell: value}: the value
    is stored as the formula's cached result. openpyxl writes formulas without results, which
    Excel/WPS recalculate on load but chat-app previewers would show as empty cells."""
    cached = cached or {}
    with zipfile.ZipFile(path) as zin:
        entries = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zout:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = _CORE_DATES.sub(lambda m: m.group(1) + FIXED_W3CDTF.encode() + m.group(3), data)
            for ref, value in cached.get(name, {}).items():
                pattern = rb'(<c r="' + ref.encode() + rb'"[^>]*><f>[^<]*</f>)<v></v>'
                data, n = re.subn(pattern, lambda m: m.group(1) + b"<v>%s</v>" % _num(value), data)
                if n != 1:
                    raise RuntimeError(f"{path.name}: no empty formula cell {ref} in {name}")
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_DT)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 0
            zout.writestr(info, data, compresslevel=9)
    path.write_bytes(buf.getvalue())


def _num(value: float) -> bytes:
    return (str(int(value)) if float(value).is_integer() else repr(float(value))).encode()


# --------------------------------------------------------------------------------------
# XLSX (openpyxl)
# --------------------------------------------------------------------------------------

QUOTE_FIRST_ITEM_ROW = 10
QUOTE_ITEM_ROWS = 10


def make_quote_template(out: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.worksheet.datavalidation import DataValidation

    def hexc(rgb):
        return "FF%02X%02X%02X" % rgb

    wb = Workbook()
    ws = wb.active
    ws.title = "报价单"
    font = "微软雅黑"
    thin = Side(style="thin", color="FFB8C2CC")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_fill = PatternFill("solid", fgColor=hexc(NAVY))
    label_fill = PatternFill("solid", fgColor=hexc(LIGHT))
    input_fill = PatternFill("solid", fgColor="FFFFFBE6")
    money = '#,##0.00;-#,##0.00;""'

    widths = {"A": 7, "B": 28, "C": 30, "D": 9, "E": 14, "F": 16, "G": 20}
    for col, wdt in widths.items():
        ws.column_dimensions[col].width = wdt

    ws.merge_cells("A1:G1")
    ws["A1"] = "报 价 单"
    ws["A1"].font = Font(name=font, size=20, bold=True, color=hexc(NAVY))
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 36
    ws.merge_cells("A2:G2")
    ws["A2"] = "猛犸微助 · 报价编号:Q-2026-0001"
    ws["A2"].font = Font(name=font, size=10, color=hexc(GREY))
    ws["A2"].alignment = Alignment(horizontal="center")

    # Header block: label / value pairs in two columns (A:B and E:G).
    header = [
        (4, "客户", "某某科技有限公司", "日期", FIXED_DT.date()),
        (5, "联系人", "张经理", "报价有效期", "30 天(至 2026-01-31)"),
        (6, "电话", "138-0000-0000", "销售顾问", "小王 139-0000-0000"),
        (7, "地址", "", "付款方式", "合同签订后 7 日内支付 50%"),
    ]
    for row, l1, v1, l2, v2 in header:
        for col, text in (("A", l1), ("E", l2)):
            c = ws[f"{col}{row}"]
            c.value = text
            c.font = Font(name=font, size=10, bold=True)
            c.fill = label_fill
            c.border = box
        ws[f"A{row}"].alignment = Alignment(horizontal="center")
        ws[f"E{row}"].alignment = Alignment(horizontal="center")
        ws.row_dimensions[row].height = 20
        ws.merge_cells(f"B{row}:D{row}")
        ws.merge_cells(f"F{row}:G{row}")
        for col, text in (("B", v1), ("F", v2)):
            c = ws[f"{col}{row}"]
            c.value = text
            c.font = Font(name=font, size=10)
            c.fill = input_fill
            c.alignment = Alignment(horizontal="left")
            if col == "F" and row == 4:
                c.number_format = "yyyy-mm-dd"
        for col in "BCDFG":
            ws[f"{col}{row}"].border = box

    # Item table.
    hr = QUOTE_FIRST_ITEM_ROW - 1
    for col, text in zip("ABCDEFG", ["序号", "产品", "规格/说明", "数量", "单价(元)", "金额(元)", "备注"]):
        c = ws[f"{col}{hr}"]
        c.value = text
        c.font = Font(name=font, size=10, bold=True, color="FFFFFFFF")
        c.fill = head_fill
        c.alignment = Alignment(horizontal="center", vertical="center")
        c.border = box
    ws.row_dimensions[hr].height = 22

    examples = [
        ("猛犸微助 专业版", "按账号/年订阅", 100, 3980),
        ("实施与数据迁移", "流程配置 + 上线陪跑 2 周", 1, 20000),
    ]
    first, last = QUOTE_FIRST_ITEM_ROW, QUOTE_FIRST_ITEM_ROW + QUOTE_ITEM_ROWS - 1
    for i, row in enumerate(range(first, last + 1), start=1):
        ws.row_dimensions[row].height = 20
        ws[f"A{row}"] = i
        ws[f"A{row}"].alignment = Alignment(horizontal="center")
        if i <= len(examples):
            name, spec, qty, price = examples[i - 1]
            ws[f"B{row}"], ws[f"C{row}"], ws[f"D{row}"], ws[f"E{row}"] = name, spec, qty, price
        ws[f"F{row}"] = f"=D{row}*E{row}"
        ws[f"D{row}"].number_format = "#,##0"
        ws[f"E{row}"].number_format = money
        ws[f"F{row}"].number_format = money
        for col in "ABCDEFG":
            c = ws[f"{col}{row}"]
            c.border = box
            c.font = Font(name=font, size=10)
            if col in "BCDEG":
                c.fill = input_fill

    # Totals.
    r_sub, r_disc, r_tax, r_total = last + 1, last + 2, last + 3, last + 4
    totals = [
        (r_sub, "小计", f"=SUM(F{first}:F{last})"),
        (r_disc, "优惠(填负数)", 0),
        (r_tax, "增值税(6%)", f"=ROUND((F{r_sub}+F{r_disc})*0.06,2)"),
        (r_total, "合计(含税)", f"=F{r_sub}+F{r_disc}+F{r_tax}"),
    ]
    for row, label, value in totals:
        ws.merge_cells(f"A{row}:E{row}")
        ws[f"A{row}"] = label
        ws[f"A{row}"].alignment = Alignment(horizontal="right")
        ws[f"F{row}"] = value
        ws[f"F{row}"].number_format = money
        bold = row == r_total
        for col in "ABCDEFG":
            c = ws[f"{col}{row}"]
            c.border = box
            c.font = Font(name=font, size=11 if bold else 10, bold=bold,
                          color=hexc(NAVY) if bold else "FF000000")
        if row == r_disc:
            ws[f"F{row}"].fill = input_fill

    notes_row = r_total + 2
    notes = [
        "说明:",
        "1. 黄色单元格为可填写内容;金额、小计、税额和合计由公式自动计算。",
        "2. 本报价自报价日期起在“报价有效期”内有效,逾期请重新确认。",
        "3. 最终价格以双方签订的合同为准。",
    ]
    for k, text in enumerate(notes):
        ws.merge_cells(f"A{notes_row + k}:G{notes_row + k}")
        ws[f"A{notes_row + k}"] = text
        ws[f"A{notes_row + k}"].font = Font(name=font, size=9, bold=(k == 0), color=hexc(GREY))
    sign_row = notes_row + len(notes) + 1
    ws[f"A{sign_row}"] = "客户确认(签字/盖章):"
    ws[f"E{sign_row}"] = "报价方(签字/盖章):"
    for col in "AE":
        ws[f"{col}{sign_row}"].font = Font(name=font, size=10, bold=True)

    dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                        allow_blank=True, showErrorMessage=True, error="请输入不小于 0 的数字")
    ws.add_data_validation(dv)
    dv.add(f"D{first}:E{last}")

    ws.freeze_panes = f"A{first}"
    ws.print_area = f"A1:G{sign_row}"
    ws.page_setup.orientation = "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True

    wb.properties.creator = AUTHOR
    wb.properties.lastModifiedBy = AUTHOR
    wb.properties.title = "报价单模板"
    wb.properties.created = FIXED_DT
    wb.properties.modified = FIXED_DT

    path = out / "quote_template.xlsx"
    wb.save(path)
    amounts = {f"F{first + i}": qty * price for i, (_, _, qty, price) in enumerate(examples)}
    amounts.update({f"F{row}": 0 for row in range(first + len(examples), last + 1)})
    subtotal = sum(amounts.values())
    tax = round(subtotal * 0.06, 2)
    amounts.update({f"F{r_sub}": subtotal, f"F{r_tax}": tax, f"F{r_total}": subtotal + tax})
    _normalise_ooxml(path, {"xl/worksheets/sheet1.xml": amounts})
    return path


# --------------------------------------------------------------------------------------
# PPTX (python-pptx)
# --------------------------------------------------------------------------------------

SLIDES = [
    ("公司介绍", "猛犸微助 —— 装在聊天里的销售助手", [
        "成立于 2020 年,专注销售过程管理,服务汽车、制造、软件等行业",
        "销售顾问在企业微信 / Telegram 里直接登记客户、记录跟进",
        "内置“三一客”流程:每个关键动作都有话术、素材和提醒",
        "已服务 300+ 门店与企业团队,日活销售 8,000+ 人",
    ]),
    ("产品亮点", "让每一次跟进都有下一步", [
        "聊天即录入:一句话记客户,语音、图片自动归档",
        "流程推进:按节点推荐话术与武器云素材,超期自动提醒",
        "成交预测:根据跟进记录给出赢单概率与风险客户清单",
        "管理看板:店长 / 销售总监手机上实时查看漏斗与排名",
    ]),
    ("客户案例", "真实团队,真实提升", [
        "某汽车 4S 店集团:来电到店率 +38%,48 小时回访完成率 92%",
        "某工业软件公司:回款周期缩短 23 天,报价出错减少 86%",
        "某家居连锁:新人上手时间从 1 个月缩短到 1 周",
        "详细数据见武器云《客户案例》",
    ]),
    ("服务承诺", "上线有陪跑,使用有保障", [
        "7 天完成配置上线,专属客户成功经理陪跑 2 周",
        "工作日 4 小时响应,重大问题 24 小时内给出解决方案",
        "数据存储在国内合规云,支持私有化部署与数据导出",
        "不满意首月可无理由退款",
    ]),
    ("联系我们", "欢迎预约演示", [
        "电话:400-000-0000(工作日 9:00-18:00)",
        "邮箱:sales@mammoth.example",
        "地址:上海市浦东新区示例路 88 号",
        "扫码添加企业微信,获取专属方案与报价",
    ]),
]


def make_intro_deck(out: Path, photo: Path | None = None) -> Path:
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.enum.text import PP_ALIGN
    from pptx.oxml.ns import qn
    from pptx.util import Emu, Inches, Pt

    cn_font = "Microsoft YaHei"

    def style_run(run, size, color=(40, 40, 40), bold=False):
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.color.rgb = RGBColor(*color)
        run.font.name = cn_font
        rpr = run._r.get_or_add_rPr()
        for tag in ("a:ea", "a:cs"):   # East Asian typeface so Chinese picks the same font
            el = rpr.find(qn(tag))
            if el is None:
                el = rpr.makeelement(qn(tag), {})
                rpr.append(el)
            el.set("typeface", cn_font)
        return run

    def add_text(slide, left, top, width, height, text, size, color=(40, 40, 40), bold=False,
                 align=None):
        tb = slide.shapes.add_textbox(left, top, width, height)
        tf = tb.text_frame
        tf.word_wrap = True
        p = tf.paragraphs[0]
        if align is not None:
            p.alignment = align
        style_run(p.add_run(), size, color, bold).text = text
        return tb

    def rect(slide, left, top, width, height, rgb, shape=MSO_SHAPE.RECTANGLE):
        s = slide.shapes.add_shape(shape, left, top, width, height)
        s.fill.solid()
        s.fill.fore_color.rgb = RGBColor(*rgb)
        s.line.fill.background()
        s.shadow.inherit = False
        return s

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    W, H = prs.slide_width, prs.slide_height
    blank = prs.slide_layouts[6]

    # Cover.
    cover = prs.slides.add_slide(blank)
    rect(cover, 0, 0, W, H, NAVY)
    rect(cover, 0, Inches(5.2), W, Inches(0.12), ORANGE)
    add_text(cover, Inches(0.9), Inches(2.2), Inches(11), Inches(1.2), "猛犸微助", 54, (255, 255, 255), True)
    add_text(cover, Inches(0.9), Inches(3.4), Inches(11), Inches(0.8),
             "聊天里的销售助手 · 公司与产品介绍", 24, (200, 215, 235))
    add_text(cover, Inches(0.9), Inches(5.6), Inches(11), Inches(0.6), "2026 年 1 月", 16, (200, 215, 235))

    for idx, (title, subtitle, bullets) in enumerate(SLIDES, start=1):
        s = prs.slides.add_slide(blank)
        rect(s, 0, 0, W, Inches(1.25), NAVY)
        rect(s, 0, Inches(1.25), W, Inches(0.06), ORANGE)
        add_text(s, Inches(0.6), Inches(0.22), Inches(8), Inches(0.8), title, 32, (255, 255, 255), True)
        add_text(s, Inches(8.6), Inches(0.38), Inches(4.2), Inches(0.6), f"{idx:02d} / {len(SLIDES):02d}",
                 14, (200, 215, 235), align=PP_ALIGN.RIGHT)
        add_text(s, Inches(0.6), Inches(1.6), Inches(12), Inches(0.7), subtitle, 22, NAVY, True)

        with_photo = title == "产品亮点" and photo is not None
        text_w = Inches(7.0) if with_photo else Inches(12.0)
        tb = s.shapes.add_textbox(Inches(0.6), Inches(2.5), text_w, Inches(4.3))
        tf = tb.text_frame
        tf.word_wrap = True
        for k, line in enumerate(bullets):
            p = tf.paragraphs[0] if k == 0 else tf.add_paragraph()
            size = 18 if with_photo else 22   # keep each bullet on one line next to the photo
            p.space_after = Pt(size)
            style_run(p.add_run(), size, TEAL, True).text = "■  "
            style_run(p.add_run(), size).text = line
        if with_photo:
            pic_w = Inches(5.2)
            s.shapes.add_picture(str(photo), Inches(7.8), Inches(2.6), width=pic_w,
                                 height=Emu(int(pic_w * PHOTO_SIZE[1] / PHOTO_SIZE[0])))
        rect(s, 0, H - Inches(0.45), W, Inches(0.45), LIGHT)
        add_text(s, Inches(0.6), H - Inches(0.43), Inches(12), Inches(0.4),
                 "猛犸微助 Mammoth · 武器云示例素材", 11, GREY)

    cp = prs.core_properties
    cp.title = "猛犸微助 公司介绍"
    cp.author = AUTHOR
    cp.last_modified_by = AUTHOR
    cp.subject = "公司介绍 / 产品亮点 / 客户案例 / 服务承诺 / 联系我们"
    cp.revision = 1
    cp.created = FIXED_DT
    cp.modified = FIXED_DT

    path = out / "intro_deck.pptx"
    prs.save(str(path))
    _normalise_ooxml(path)
    return path


# --------------------------------------------------------------------------------------

def generate(out: Path = HERE) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    photo = make_product_photo(out)
    return [
        make_price_sheet(out),
        photo,
        make_quote_template(out),
        make_intro_deck(out, photo),
        make_test_drive_checklist(out),
        make_case_study(out),
    ]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else HERE
    for path in generate(out):
        print(f"{path.stat().st_size / 1024:7.1f} KB  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
