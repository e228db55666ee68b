"""List shapes from issue 21, each as a small page written for the test: the date inside the entry's link,
a title attribute beside a link that holds more, a summary citing other dates, short-code titles, a
single-entry column under a long menu."""

from __future__ import annotations

import pytest

from tests.conftest import NOW
from watcher.extract import extract

BASE = "http://kjj.example.gov.cn/tzgg/"
MENU = "".join(f'<li><a href="/c{i}/">第{i}科室名称</a></li>' for i in range(30))


def page(title: str, body: str) -> str:
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>"


def entries(x: object) -> list[tuple[str, str | None]]:
    return [(link.title, link.date.iso if link.date else None) for link in x.items]  # type: ignore[attr-defined]


def test_the_date_inside_the_link_is_the_entrys_not_its_titles() -> None:
    items = "".join(
        f'<li><a href="/info/{i}.htm" title="关于开展第{i}批科技项目申报工作的通知">'
        f'<p>关于开展第{i}批科技项目申报工作的通知</p><span class="date">[ 2021-05-1{i} ]</span></a></li>'
        for i in range(6)
    )
    x = extract(page("通知公告", f"<ul>{items}</ul>"), BASE, "utf-8", now=NOW)
    assert x.kind == "list" and entries(x)[:2] == [
        ("关于开展第0批科技项目申报工作的通知", "2021-05-10"),
        ("关于开展第1批科技项目申报工作的通知", "2021-05-11"),
    ]


def test_a_date_printed_in_pieces_inside_the_link() -> None:
    items = "".join(
        f'<li><a href="/info/{i}.htm"><div class="date"><i>01-1{i}</i><b>2026</b></div>'
        f"<p>关于公布第{i}批创新平台名单的通知</p></a></li>"
        for i in range(5)
    )
    x = extract(page("通知公告", f"<ul>{items}</ul>"), BASE, "utf-8", now=NOW)
    assert entries(x)[0] == ("关于公布第0批创新平台名单的通知", "2026-01-10")


def test_a_summary_citing_other_dates_leaves_the_entrys_own() -> None:
    items = "".join(
        f'<li><a href="{i}.html">关于做好第{i}批社会组织年检工作的通知</a>'
        f"<p>（民发〔2012〕124号 2012年7月10日）各设区市民政局：根据有关规定，现就年检工作的有关事项通知如下，请认真执行。"
        f'<a href="{i}.html">[详情]</a></p><span>2020-0{i + 1}-18</span></li>'
        for i in range(4)
    )
    x = extract(page("通知公告", f"<ul>{items}</ul>"), BASE, "utf-8", now=NOW)
    assert [d for _, d in entries(x)] == ["2020-01-18", "2020-02-18", "2020-03-18", "2020-04-18"]


def test_short_code_titles_make_a_list() -> None:
    items = "".join(
        f'<li><a href="/ws/{i}.html">（2016）粤13民终{2450 + i}号</a><span>2016-0{i + 1}-12</span></li>'
        for i in range(8)
    )
    x = extract(page("裁判文书", f"<ul>{items}</ul>"), BASE, "utf-8", now=NOW)
    assert (
        x.kind == "list" and len(x.items) == 8 and entries(x)[0] == ("（2016）粤13民终2450号", "2016-01-12")
    )


def test_a_single_entry_column_beats_a_long_menu() -> None:
    body = (
        f'<ul class="menu">{MENU}</ul><div class="main"><h2>通知公告</h2><ul>'
        '<li><a href="/tzgg/2026/1119/123.html">关于组织申报2026年度县级科技计划项目的通知</a>'
        "<span>2026-11-19</span></li></ul></div>"
    )
    x = extract(page("通知公告-某县科技局", body), BASE, "utf-8", now=NOW)
    assert x.kind == "list" and entries(x) == [("关于组织申报2026年度县级科技计划项目的通知", "2026-11-19")]


def test_a_hanweb_column_ships_its_entries_in_a_script_datastore() -> None:
    records = "".join(
        f'<record><![CDATA[<li><a href="/art/2026/11/1{i}/art_123_{i}.html" title="关于开展第{i}批科技项目申报的通知">'
        f"关于开展第{i}批科技项目申报的通知</a><span>2026-11-1{i}</span></li>]]></record>"
        for i in range(8)
    )
    body = (
        '<div class="nav"><a href="/">首页</a></div><div id="319270"><script type="text/xml"><datastore>'
        '<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1"></a>]]></nextgroup>'
        f"<recordset>{records}</recordset></datastore></script></div>"
    )
    x = extract(
        page("通知公告 某省科学技术厅", body),
        "http://kjt.example.gov.cn/col/col123/index.html",
        "utf-8",
        now=NOW,
    )
    assert x.kind == "list" and len(x.items) == 8
    assert x.items[0].url == "http://kjt.example.gov.cn/art/2026/11/10/art_123_0.html"
    assert entries(x)[0] == ("关于开展第0批科技项目申报的通知", "2026-11-10")


def cards(heading: str, summary: str, glue: str = "\n") -> str:
    """Entries each a link holding a card: a picture, a heading and a summary."""
    return "".join(
        f'<a href="/news/{i}.html" class="card"><img src="/p/{i}.jpg">{glue}'
        f"<{heading}>开展第{i}次科技特派员服务活动(2026-11-0{i + 1})</{heading}>{glue}"
        f"<p>{summary.format(i=i)}</p></a>"
        for i in range(5)
    )


@pytest.mark.parametrize(
    ("heading", "summary", "glue"),
    [
        ("h3", "开展第{i}次科技特派员服务活动", "\n"),  # the title again below it
        ("h4", "开展第{i}次科技特派员服务活动", ""),  # no blank between the blocks
        ("div", "活动围绕产业需求开展第{i}次技术指导，服务企业二十余家，解决技术难题十余项。", "\n"),
    ],
)
def test_a_card_link_gives_its_heading_as_title_and_its_date(heading: str, summary: str, glue: str) -> None:
    x = extract(page("工作动态", f'<div class="list">{cards(heading, summary, glue)}</div>'), BASE, now=NOW)
    assert x.kind == "list" and len(x.items) == 5
    assert entries(x)[:2] == [
        ("开展第0次科技特派员服务活动", "2026-11-01"),
        ("开展第1次科技特派员服务活动", "2026-11-02"),
    ]


@pytest.mark.parametrize(
    ("link", "outside", "want"),
    [
        (
            "关于公布2026年度科普基地名单的通知（2026-10-09）",
            "",
            ("关于公布2026年度科普基地名单的通知", "2026-10-09"),
        ),
        (
            "关于公布2026年度科普基地名单的通知 2026年10月9日",
            "",
            ("关于公布2026年度科普基地名单的通知", "2026-10-09"),
        ),
        # the entry dated elsewhere: the date in the link is part of its title (an issue's date)
        (
            "科技工作简报第12期（2026．09．30）",
            "<span>[2026-10-09]</span>",
            ("科技工作简报第12期（2026．09．30）", "2026-10-09"),
        ),
        ("2026-2027年度科技计划项目指南", "", ("2026-2027年度科技计划项目指南", None)),
    ],
)
def test_a_date_closing_the_links_text(link: str, outside: str, want: tuple[str, str | None]) -> None:
    items = "".join(f'<li><a href="/tz/{i}.html">{link}</a>{outside}</li>' for i in range(8))
    x = extract(page("通知公告", f"<ul>{items}</ul>"), BASE, now=NOW)
    assert entries(x)[0] == want


TITLES = ["关于开展2026年度科技计划项目申报工作的通知", "关于公布第三批创新平台认定名单的公示"] + [
    f"关于组织第{i}批科技成果转化项目的通知" for i in range(4)
]


@pytest.mark.parametrize(
    ("row", "want"),
    [
        # a date before the title, set apart or bracketed, is the entry's and not its title's
        ('<a href="/i/{i}.htm">2026-01-1{i} {t}</a>', (TITLES[0], "2026-01-10")),
        ('<a href="/i/{i}.htm">[2026-01-1{i}]{t}</a>', (TITLES[0], "2026-01-10")),
        ('<a href="/i/{i}.htm">[01-1{i}] {t}</a>', (TITLES[0], "2026-01-10")),
        ('<a href="/i/{i}.htm">{t} [01-1{i}]</a>', (TITLES[0], "2026-01-10")),
        # the title attribute is the title; the rest of the link's text holds the date
        ('<a href="/i/{i}.htm" title="{t}">{t} 2026-01-1{i}</a>', (TITLES[0], "2026-01-10")),
        # a cut title keeps its text when the attribute is no title of it
        (
            '<a href="/i/{i}.htm" title="点击查看详情">{t:.12}…</a><span>2026-01-1{i}</span>',
            (TITLES[0][:12] + "…", "2026-01-10"),
        ),
        (
            '<a href="/i/{i}.htm" title="{t}"><em>【公示】</em>{t:.8}…</a><span>2026-01-1{i}</span>',
            (TITLES[0], "2026-01-10"),
        ),
    ],
)
def test_date_tokens_and_the_title_attribute(row: str, want: tuple[str, str]) -> None:
    items = "".join(f"<li>{row.format(i=i, t=t)}</li>" for i, t in enumerate(TITLES))
    x = extract(page("通知公告", f"<ul>{items}</ul>"), BASE, now=NOW)
    assert x.kind == "list" and len(x.items) == 6 and entries(x)[0] == want


def test_a_menu_of_columns_yields_to_one_dated_entry() -> None:
    """Undated links to columns' addresses (/c3/, list_2.htm) are a menu, however long their names."""
    menu = "".join(f'<li><a href="/c{i}/">第{i}个栏目的名称比较长</a></li>' for i in range(40))
    body = (
        f'<div class="nav"><ul>{menu}</ul></div><div class="main"><h2>通知公告</h2><ul><li>'
        f'<a href="/info/2026/0119/1.htm">{TITLES[0]}</a><span>2026-01-19</span></li></ul></div>'
    )
    x = extract(page("通知公告-某大学", body), BASE, now=NOW)
    assert x.kind == "list" and entries(x) == [(TITLES[0], "2026-01-19")]


SUMMARY = (
    "根据《某省科技计划管理办法》（2019年5月8日印发），现将有关事项通知如下，请于2026年3月1日前报送材料。"
)


@pytest.mark.parametrize(
    "entry",
    [
        '<div class="r"><a href="/art/{i}.html">{t}</a><p>{s} 2026-01-1{i}</p></div>',  # after the summary
        '<div class="r"><a href="/art/{i}.html">{t}</a><p>{s}</p><div>www.example.gov.cn/art/{i}.html 2026-01-1{i}</div></div>',
    ],
)
def test_a_search_result_dated_apart_from_its_summarys_dates(entry: str) -> None:
    items = "".join(entry.format(i=i, t=t, s=SUMMARY) for i, t in enumerate(TITLES))
    x = extract(page("搜索结果", f'<div class="results">{items}</div>'), BASE, now=NOW)
    assert [d for _, d in entries(x)] == [f"2026-01-1{i}" for i in range(6)]


def dated_list(n: int = 6) -> str:
    return (
        "<ul>"
        + "".join(
            f'<li><a href="/art/2026/1/1{i}/{i}.html">{TITLES[i % 6]}（第{i}号）</a><span>2026-01-1{i % 10}</span></li>'
            for i in range(n)
        )
        + "</ul>"
    )


@pytest.mark.parametrize(
    ("name", "href"),
    [("第{i}个业务栏目的名称", "/c{i}.htm"), ("关于某某业务的办事指南第{i}项", "/bs/{i}.htm")],
)
def test_a_long_undated_menu_beside_a_dated_list_is_not_the_list(name: str, href: str) -> None:
    """The menu's links are neither short nor to columns' addresses; the dated list still wins, alone:
    a same-shaped block beside it that is undated is no part of it."""
    menu = (
        "<ul>"
        + "".join(f'<li><a href="{href.format(i=i)}">{name.format(i=i)}</a></li>' for i in range(40))
        + "</ul>"
    )
    x = extract(page("通知公告", f"<div>{menu}</div><div>{dated_list()}</div>"), BASE, now=NOW)
    assert x.kind == "list" and len(x.items) == 6 and all(link.date for link in x.items)


def test_an_undated_list_of_notices_keeps_over_a_dated_sidebar() -> None:
    rows = "".join(
        f'<li><a href="/zc/{i}.html">关于印发《某省科技创新促进条例实施细则（第{i}部分）》的通知</a></li>'
        for i in range(20)
    )
    side = '<div class="side-news"><h3>最新动态</h3>' + dated_list() + "</div>"
    x = extract(page("政策文件", f'<div class="main"><ul>{rows}</ul></div>{side}'), BASE, now=NOW)
    assert len(x.items) == 20 and x.items[0].title.startswith("关于印发《某省科技创新促进条例")


def test_a_date_with_a_two_digit_year_in_its_own_cell() -> None:
    rows = "".join(
        f'<tr><td><a href="2020{m:02d}/t2020{m:02d}1{m}_{m}.html" title="青海观测站2020年度第{m}期招聘启事">'
        f"青海观测站2020年度第{m}期招聘启事</a></td><td>20-{m:02d}-1{m}</td></tr>"
        for m in range(1, 7)
    )
    x = extract(page("通知公告", f"<table>{rows}</table>"), BASE, "utf-8", now=NOW)
    assert entries(x)[:2] == [
        ("青海观测站2020年度第1期招聘启事", "2020-01-11"),
        ("青海观测站2020年度第2期招聘启事", "2020-02-12"),
    ]


def test_a_two_digit_year_is_no_date_when_the_address_names_another_year_or_it_lies_ahead() -> None:
    rows = "".join(
        f'<li><a href="/2019/{i}.html">关于开展第{i}批科技计划项目验收的通知</a><span>20-03-1{i}</span></li>'
        f'<li><a href="/x/{i}.html">关于开展第{i}批科技计划项目申报的通知</a><span>29-03-1{i}</span></li>'
        for i in range(4)
    )
    x = extract(page("通知公告", f"<ul>{rows}</ul>"), BASE, "utf-8", now=NOW)
    assert len(x.items) == 8 and all(link.date is None for link in x.items)


def test_an_entry_whose_address_sits_in_a_script_call() -> None:
    items = "".join(
        f"<li><a href=\"javascript:openUrl('/art/2026/11/{i}/art_12_{i}.html')\">关于征集第{i}批科技成果转化项目的通知</a>"
        f"<span>2026-11-0{i + 1}</span></li>"
        for i in range(5)
    )
    x = extract(page("通知公告", f"<ul>{items}</ul>"), BASE, "utf-8", now=NOW)
    assert x.kind == "list" and [link.url for link in x.items][:2] == [
        "http://kjj.example.gov.cn/art/2026/11/0/art_12_0.html",
        "http://kjj.example.gov.cn/art/2026/11/1/art_12_1.html",
    ]


def test_an_onclick_opener_is_the_address_and_a_bare_script_link_is_none() -> None:
    opened = "".join(
        f'<tr><td><a href="javascript:void(0)" onclick="window.open(\'detail.jsp?id={i}\')">'
        f"关于公布第{i}批高新技术企业培育库入库名单的通知</a></td><td>2026-10-1{i}</td></tr>"
        for i in range(4)
    )
    bare = (
        '<tr><td><a href="javascript:;">关于公布入库名单的补充通知（已撤回）</a></td><td>2026-10-20</td></tr>'
    )
    favourite = "<a href=\"javascript:window.external.AddFavorite('http://kjj.example.gov.cn/','科技局')\">加入收藏夹吧</a>"
    x = extract(page("通知公告", f"{favourite}<table>{bare}{opened}</table>"), BASE, "utf-8", now=NOW)
    assert [link.url for link in x.items] == [
        f"http://kjj.example.gov.cn/tzgg/detail.jsp?id={i}" for i in range(4)
    ]


def test_a_date_box_over_a_summary_keeps_its_printed_year() -> None:
    summary = "9月23日，上级图书馆一行来我校图书馆调研指导工作，在综合楼会议室开展了数字图书建设主题座谈会，会议由馆长主持。"
    items = "".join(
        f'<li><div class="time"><p>0{m}/2{m}</p><p>2020</p></div><div class="title">'
        f'<a href="../info/1048/{m}.html"><h4>图书馆第{m}次工作会议顺利召开</h4></a><div>{summary}</div></div></li>'
        for m in range(1, 6)
    )
    x = extract(page("新闻动态", f"<ul>{items}</ul>"), BASE, "utf-8", now=NOW)
    assert entries(x)[:2] == [
        ("图书馆第1次工作会议顺利召开", "2020-01-21"),
        ("图书馆第2次工作会议顺利召开", "2020-02-22"),
    ]


def test_pinned_rows_in_a_table_nested_in_the_list_lead_it() -> None:
    def row(i: int, title: str) -> str:
        return f'<tr><td><a href="articleinfo-{i}.html">{title}</a></td><td><span>2020-07-{i:02d}</span></td></tr>'

    pinned = row(30, "置顶：中华人民共和国资产评估法") + row(29, "置顶：《中华人民共和国价格法》")
    rest = "".join(row(i, f"关于做好第{i}期价格监测报送工作的通知") for i in range(1, 9))
    body = f'<table class="main"><tr><td><table class="top">{pinned}</table></td></tr>{rest}</table>'
    x = extract(page("政策文件", body), BASE, "utf-8", now=NOW)
    assert len(x.items) == 10 and entries(x)[:3] == [
        ("置顶：中华人民共和国资产评估法", "2020-07-30"),
        ("置顶：《中华人民共和国价格法》", "2020-07-29"),
        ("关于做好第1期价格监测报送工作的通知", "2020-07-01"),
    ]
