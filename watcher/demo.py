"""`watcher demo`: a fully offline run on bundled sample pages.

A bureau's 通知公告 list and its notices are served from 127.0.0.1. watcher checks them, then the site
changes (a new notice, a revised body, an added attachment, a click counter ticking) and watcher checks
again, showing exactly the new and changed notices.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import zipfile
from dataclasses import dataclass, field
from xml.sax.saxutils import escape as xml_escape

from .localsite import LocalServer

LIST_PATH = "/kjj/tzgg/index.html"


@dataclass
class DemoNotice:
    pid: int
    title: str
    date: str
    paragraphs: list[str]
    attachments: list[str] = field(default_factory=list)
    views: int = 100

    @property
    def path(self) -> str:
        return f"/kjj/tzgg/{self.date[:7].replace('-', '')}/t{self.date.replace('-', '')}_{self.pid}.html"


def sample_notices(today: dt.date) -> list[DemoNotice]:
    """Four notices dated in the weeks before `today`, so they are recent whenever the demo runs."""
    y = today.year

    def ago(days: int) -> str:
        return (today - dt.timedelta(days=days)).isoformat()

    def ahead(days: int) -> str:
        d = today + dt.timedelta(days=days)
        return f"{d.year}年{d.month}月{d.day}日"

    return [
        DemoNotice(
            8801,
            f"关于组织申报{y}年度广佛科技创新合作专项项目的通知",
            ago(6),
            [
                f"佛科〔{y}〕37号",
                "各有关单位：",
                f"为贯彻落实《关于推进广佛科技创新合作的工作方案》，现组织申报{y}年度广佛科技创新合作专项项目，"
                "支持广佛两地企事业单位联合开展核心技术攻关和科技成果转化。",
                f"申报时间：{ahead(-5)}至{ahead(12)}17:00，逾期不予受理。",
                "联系人：陈女士，电话：0757-83380000。",
            ],
            [f"{y}年度广佛科技创新合作专项申报指南.docx"],
            1885,
        ),
        DemoNotice(
            8790,
            "关于遴选“科创中国”广州市试点区和示范园区的通知",
            ago(14),
            [
                "各区科协、各有关园区：",
                "为发挥我市作为“科创中国”创新枢纽城市的优势，现拟在全市范围内遴选若干“科创中国”广州市试点区和示范园区。",
                f"请于{ahead(20)}前将申报材料报送市科协。",
            ],
            ["试点区申报书.docx", "示范园区申报书.docx"],
            640,
        ),
        DemoNotice(
            8774,
            f"广东省科学技术厅关于{y}年度珠三角科技创新一体化项目立项的公示",
            ago(21),
            [
                "根据《推进珠江三角洲地区科技创新一体化行动计划》，经专家评审，拟立项项目名单予以公示。",
                f"公示期为{ahead(-20)}至{ahead(-14)}。",
            ],
            [],
            2210,
        ),
        DemoNotice(
            8760,
            f"关于举办{y}年广州市科技活动周的通知",
            ago(27),
            ["为普及科学知识，弘扬科学精神，定于近期举办广州市科技活动周。"],
            [],
            312,
        ),
    ]


def render_notice(n: DemoNotice) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in n.paragraphs)
    files = "".join(
        f'<li><a href="{attachment_path(n, i, name)}">附件{i + 1}：{html.escape(name)}</a></li>'
        for i, name in enumerate(n.attachments)
    )
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(n.title)}_广州市科学技术局</title>'
        f'<meta name="ArticleTitle" content="{html.escape(n.title)}"><meta name="PubDate" content="{n.date} 09:30">'
        '<meta name="ContentSource" content="广州市科学技术局"></head><body>'
        '<div class="nav"><a href="/">首页</a> <a href="/kjj/tzgg/">通知公告</a></div>'
        f'<h1>{html.escape(n.title)}</h1><div class="info">发布时间：{n.date} 浏览次数：{n.views}</div>'
        f'<div id="zoom">{body}</div><div class="fujian"><ul>{files}</ul></div>'
        '<div class="footer">广州市科学技术局 版权所有</div></body></html>'
    )


def render_list(notices: list[DemoNotice]) -> str:
    items = "".join(
        f'<li><a href="{n.path}" title="{html.escape(n.title)}">{html.escape(n.title[:18])}…</a><span>{n.date}</span></li>'
        for n in sorted(notices, key=lambda n: n.date, reverse=True)
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>通知公告_广州市科学技术局</title></head><body>'
        f'<div class="nav"><a href="/">首页</a></div><div class="news_list"><ul>{items}</ul></div>'
        '<div class="footer">广州市科学技术局 版权所有</div></body></html>'
    )


def publish(server: LocalServer, notices: list[DemoNotice]) -> None:
    server.site.put(LIST_PATH, render_list(notices), content_type="text/html; charset=utf-8")
    for n in notices:
        server.site.put(n.path, render_notice(n), content_type="text/html; charset=utf-8")
        for i, name in enumerate(n.attachments):
            server.site.put(attachment_path(n, i, name), attachment_file(n, name), content_type=_OOXML)


_OOXML = "application/octet-stream"


def attachment_path(n: DemoNotice, i: int, name: str) -> str:
    return f"/kjj/files/{n.pid}_{i}.{name.rsplit('.', 1)[1]}"


def attachment_file(n: DemoNotice, name: str) -> bytes:
    """A guide restates the notice's dates (so a moved deadline changes it too); a table lists units."""
    if name.endswith(".xlsx"):
        rows = [["序号", "单位名称", "项目名称", "金额（万元）"]]
        rows += [[str(i), unit, f"{unit}联合攻关项目", str(50 * i)] for i, unit in enumerate(_UNITS, 1)]
        return xlsx(rows, sheet=name.rsplit(".", 1)[0])
    dated = [p for p in n.paragraphs if "时间" in p or "前" in p]
    return docx([name.rsplit(".", 1)[0], "一、申报要求", *dated])


_UNITS = ("广州市黄埔区科技局", "佛山市南海区科技局", "佛山市顺德区科技局")


def next_round(notices: list[DemoNotice]) -> list[DemoNotice]:
    """What changes on the site between the two checks."""
    call, selection, publicity, event = notices
    call.paragraphs[3] = call.paragraphs[3].replace("17:00，", "17:00（截止时间顺延一周请以此为准），")
    call.paragraphs[3] = re.sub(
        r"至(\d{4})年(\d+)月(\d+)日", lambda m: "至" + _later(m, 7), call.paragraphs[3]
    )
    selection.attachments.append("推荐汇总表.xlsx")
    publicity.views += 1  # a click counter ticks: not a change
    fresh = DemoNotice(
        8812,
        f"关于下达{call.date[:4]}年广州国际科技产业创新中心建设专项资金的通知",
        (dt.date.fromisoformat(call.date) + dt.timedelta(days=5)).isoformat(),
        ["根据《广州市建设国际科技产业创新中心三年行动计划》，现下达本年度专项资金，请各单位按要求使用。"],
        ["资金分配表.xlsx"],
    )
    return [fresh, call, selection, publicity, event]


def _later(m: re.Match[str], days: int) -> str:
    d = dt.date(int(m[1]), int(m[2]), int(m[3])) + dt.timedelta(days=days)
    return f"{d.year}年{d.month}月{d.day}日"


def demo_config(base: str) -> str:
    return f"""settings:
  per_host: {{concurrency: 4, delay: 0}}
sources:
  - name: gz-kjj-tzgg
    url: {base}{LIST_PATH}
"""


# ---------------------------------------------------------------- sample attachments (OOXML, no library)

_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    """A minimal Word document: paragraphs, then a table."""
    body = "".join(f"<w:p><w:r><w:t>{xml_escape(p)}</w:t></w:r></w:p>" for p in paragraphs)
    if table:
        cell = "<w:tc><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:tc>"
        rows = "".join(
            "<w:tr>" + "".join(cell.format(xml_escape(c)) for c in row) + "</w:tr>" for row in table
        )
        body += f"<w:tbl>{rows}</w:tbl>"
    document = f'<w:document xmlns:w="{_W}"><w:body>{body}</w:body></w:document>'
    main = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    return _package({"word/document.xml": document}, {"/word/document.xml": main}, "word/document.xml")


def xlsx(rows: list[list[str]], sheet: str = "Sheet1") -> bytes:
    """A minimal workbook of one sheet of text cells."""
    cell = '<c r="{}" t="inlineStr"><is><t>{}</t></is></c>'
    cells = "".join(
        f'<row r="{r}">'
        + "".join(cell.format(f"{chr(65 + c)}{r}", xml_escape(v)) for c, v in enumerate(row))
        + "</row>"
        for r, row in enumerate(rows, 1)
    )
    parts = {
        "xl/workbook.xml": f'<workbook xmlns="{_S}" xmlns:r="{_DOC}"><sheets>'
        f'<sheet name="{xml_escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_REL}"><Relationship Id="rId1" '
        f'Type="{_DOC}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{_S}"><sheetData>{cells}</sheetData></worksheet>',
    }
    types = {
        "/xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "/xl/worksheets/sheet1.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
    }
    return _package(parts, types, "xl/workbook.xml")


def _package(parts: dict[str, str], types: dict[str, str], main: str) -> bytes:
    overrides = "".join(f'<Override PartName="{n}" ContentType="{t}"/>' for n, t in types.items())
    rels = "application/vnd.openxmlformats-package.relationships+xml"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            _entry("[Content_Types].xml"),
            f'<Types xmlns="{_CT}"><Default Extension="rels" ContentType="{rels}"/>'
            f'<Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>',
        )
        z.writestr(
            _entry("_rels/.rels"),
            f'<Relationships xmlns="{_REL}"><Relationship Id="rId1" Type="{_DOC}/officeDocument" Target="{main}"/>'
            "</Relationships>",
        )
        for name, text in parts.items():
            z.writestr(_entry(name), '<?xml version="1.0" encoding="UTF-8"?>' + text)
    return buf.getvalue()


def _entry(name: str) -> zipfile.ZipInfo:
    """A fixed timestamp: the same document makes the same bytes, as a file server serves them."""
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
