"""Notice shapes from issue 21, each as a small page written for the test: a headline in a <div> or <p>
under a <title> that is only the site's name, and an issuer named only in the sign-off."""

from __future__ import annotations

from tests.conftest import NOW
from watcher.extract import extract

URL = "http://kjj.example.gov.cn/tzgg/2026/1103/1.html"
SIDE = (
    '<div class="side"><div class="box-title">友情链接</div><ul><li><a href="http://www.gov.cn/">中国政府网</a></li>'
    '<li><a href="http://www.gd.gov.cn/">广东省人民政府</a></li></ul></div>'
)
BODY = "<p>" + "为深入实施创新驱动发展战略，加快推进科技成果转化，现将有关事项通知如下。" * 4 + "</p>"
HEADLINE = "关于开展2026年度科技成果转化项目申报工作的通知"


def test_a_headline_in_a_div_over_the_info_line_beats_a_site_name_title() -> None:
    page = (
        f"<html><head><title>某市科学技术局</title></head><body>{SIDE}<div class='article'>"
        f"<div class='art-title'>{HEADLINE}</div><div class='info'>发布时间：2026-11-03 来源：新华网</div>"
        f"{BODY}</div></body></html>"
    )
    x = extract(page, URL, "utf-8", now=NOW)
    assert (x.kind, x.title, x.publisher) == ("notice", HEADLINE, "新华网")
    assert x.date is not None and x.date.iso == "2026-11-03"


def test_a_headline_in_a_paragraph() -> None:
    page = (
        f"<html><head><title>某市科学技术局</title></head><body><div class='article'><p class='bt'>{HEADLINE}</p>"
        f"<p>2026-11-03 10:20 来源：新华网</p>{BODY}</div>{SIDE}</body></html>"
    )
    assert extract(page, URL, "utf-8", now=NOW).title == HEADLINE


def test_the_issuer_named_only_in_the_sign_off() -> None:
    page = (
        "<html><head><title>关于做好学生资助工作的通知-大数据学院</title></head><body><div class='article'>"
        f"<h1>关于做好学生资助工作的通知</h1>{BODY}<p style='text-align:right'>大数据学院学生科</p>"
        "<p style='text-align:right'>2026年11月3日</p></div></body></html>"
    )
    x = extract(page, URL, "utf-8", now=NOW)
    assert x.publisher == "大数据学院学生科"


def test_a_closing_line_that_is_no_office_names_no_issuer() -> None:
    page = (
        "<html><head><title>关于做好学生资助工作的通知-大数据学院</title></head><body><div class='article'>"
        f"<h1>关于做好学生资助工作的通知</h1>{BODY}<p>特此通知。</p><p>2026年11月3日</p></div></body></html>"
    )
    assert extract(page, URL, "utf-8", now=NOW).publisher is None


def test_a_column_and_an_office_in_title_and_a_headline_cell_beside_longer_titled_links() -> None:
    """<title> 工作动态——某省物价局-某网站 (a dash pair before an office's name ends the column's name); the
    headline in <td class=x_content_title> wins over the longer a.x_title links of the other entries."""
    others = "".join(
        f"<li><a class='x_title' href='articleinfo-{i}.html'>关于印发《某市非居民用水超定额累进加价制度实施细则》的通知{i}</a></li>"
        for i in range(3)
    )
    page = (
        "<html><head><title>工作动态——某省物价局-某省物价局网站</title></head><body><table><tr>"
        f"<td class='x_content_title'>{HEADLINE}</td></tr><tr><td><span class='x_time'>2026-11-03 15:20:21</span>"
        f"</td></tr><tr><td>信息来源：国家发改委</td></tr><tr><td>{BODY}</td></tr></table><ul>{others}</ul></body></html>"
    )
    x = extract(page, URL, "utf-8", now=NOW)
    assert (x.kind, x.title, x.publisher) == ("notice", HEADLINE, "国家发改委")
    assert x.date is not None and x.date.iso == "2026-11-03"


def test_a_headline_block_that_also_holds_a_box_of_links_and_the_info_line() -> None:
    """<div class=div_title>T<div class=box>[site] [手机版本] 发布时间：…</div></div>: the headline is the
    block's own text, and the info line under it gives the date."""
    page = (
        f"<html><head><title>{HEADLINE}</title></head><body><div class='div_title'>{HEADLINE}<div class='box'>"
        "<a href='/'>[某市科学技术局]</a>&nbsp;<a href='javascript:void(0);'>[手机版本]</a>&nbsp;"
        "<a href='javascript:void(0);'>[扫描分享]</a>&nbsp;发布时间：2026年11月3日<div>查看:721</div>来源:</div></div>"
        f"<div class='div_content'>{BODY}</div>{SIDE}</body></html>"
    )
    x = extract(page, URL, "utf-8", now=NOW)
    assert (x.kind, x.title) == ("notice", HEADLINE)
    assert x.date is not None and x.date.iso == "2026-11-03"


def test_a_title_ending_in_hyphenated_school_names_and_a_headline_in_a_styled_cell() -> None:
    """<title> T-某市广播电视大学-某广播电视大学 and the headline in a bold <td> with no class: the school names
    are the site's, so the title is T."""
    title = "我校举行法学专业中心组会议"
    page = (
        f"<html><head><title>{title}-某市广播电视大学-某广播电视大学</title></head><body><table><tr>"
        f"<td style='FONT-WEIGHT: bold'>{title}</td></tr><tr><td>文章来源：创新教育学院</td></tr>"
        f"<tr><td>发布时间：2026-11-03 14:50:32 阅读次数：</td></tr><tr><td>{BODY}</td></tr></table></body></html>"
    )
    x = extract(page, URL, "utf-8", now=NOW)
    assert (x.kind, x.title, x.publisher) == ("notice", title, "创新教育学院")
    assert x.date is not None and x.date.iso == "2026-11-03"


def test_a_date_inside_the_headline_is_not_the_pages_date() -> None:
    """A breadcrumb ending in the title, then the headline (holding a date), then 发布时间: the headline
    repeated is not an info line."""
    title = "关于暂停2026年11月13日往届各类证书发放的通知"
    page = (
        f"<html><head><title>{title}</title></head><body><div>首页 &gt;&gt;通知公告 &gt;&gt;{title}</div>"
        f"<div class='div_title'>{title}<div class='box'>发布时间：2026年11月3日 查看:1092 来源:</div></div>"
        f"<div class='div_content'>{BODY}<p>教学教务部</p><p>2026年11月03日</p></div></body></html>"
    )
    x = extract(page, URL, "utf-8", now=NOW)
    assert (x.title, x.publisher) == (title, "教学教务部")
    assert x.date is not None and x.date.iso == "2026-11-03"


def _notice(body: str, title: str = "某市社区教育网") -> str:
    return f"<html><head><title>{title}</title></head><body><div class='article'>{body}</div>{SIDE}</body></html>"


FORM = "<table>" + "".join(f"<tr><td>{cell}</td><td></td></tr>" for cell in (
    "姓名", "性别", "出生年月", "工作单位", "职务职称", "联系电话", "电子邮箱", "工作简历", "单位推荐意见",
    "负责人：（公章）", "年 月 日")) + "</table>"  # fmt: skip


def test_the_sign_off_under_the_attachments_list_before_an_attachment_printed_inline() -> None:
    """正文, 附件：…, the office, the date, then the attachment's form printed in the page: the sign-off is the
    office under the attachments list, not among the form's last lines."""
    page = _notice(
        f"<h1>{HEADLINE}</h1><p>发布时间：2026年11月03日</p>{BODY}<p>附件：1.申报表</p><p>2.申报登记表</p>"
        f"<p>某市社区教育指导中心</p><p>2026年10月30日</p><p>附件1</p><p>申报表</p>{FORM}"
    )
    assert extract(page, URL, "utf-8", now=NOW).publisher == "某市社区教育指导中心"


def test_a_sign_off_dated_in_chinese_numerals() -> None:
    """二〇二六年十一月 (or 二0二六年十一月三日, a digit zero among the numerals) under the office."""
    for date in ("二〇二六年十一月", "二0二六年十一月三日"):
        page = _notice(f"<h1>{HEADLINE}</h1>{BODY}<p>某市社区教育指导中心</p><p>{date}</p>")
        assert extract(page, URL, "utf-8", now=NOW).publisher == "某市社区教育指导中心", date


def test_a_request_to_cite_the_source_is_not_the_source() -> None:
    """请注明来源：T http://… asks a reprint to cite this article; 本文来源：中关村在线 is the source."""
    title = "北京地铁可以用手机刷卡了"
    page = _notice(
        f"<h1>{title}</h1><p>2026-11-03 地铁新闻</p><p>目前近160款具有NFC功能的机型均已支持这一服务。</p>"
        f"<p>本文属于原创文章，如若转载，请注明来源：{title}http://news.example.com/644/6448596.html</p>"
        "<p>本文来源：中关村在线</p>",
        f"{title}-某某公交网",
    )
    assert extract(page, URL, "utf-8", now=NOW).publisher == "中关村在线"


def test_a_bare_media_name_beside_the_date_is_the_source() -> None:
    """<div class=source><span>湖北日报客户端</span><span>2026-11-03 15:35:47</span></div>: a media name with
    no 来源 label standing beside the date; a word that is no medium's name (首页, 打印) is none."""
    for name, want in (("湖北日报客户端", "湖北日报客户端"), ("某某晚报", "某某晚报"), ("打印本页", None)):
        page = _notice(
            f"<div class='news-title'>{HEADLINE}</div><div class='source'><span>{name}</span>"
            f"<span>2026-11-03 15:35:47</span></div>{BODY}",
            f"{HEADLINE} - 某某新闻客户端",
        )
        x = extract(page, URL, "utf-8", now=NOW)
        assert (x.title, x.publisher) == (HEADLINE, want), name


def test_a_headline_in_a_div_over_an_unlabelled_date_line_beats_a_site_name_title() -> None:
    """<title> only the site's name, the headline in a <div>, under it a date and time with no 发布时间 label
    (alone, or after the medium's name): the line above that date line is the headline."""
    for info in (
        "<span>2026-11-03 15:35:47</span>",
        "<span>某某日报客户端</span><span>2026-11-03 15:35</span>",
    ):
        page = _notice(
            f"<div class='bt'>{HEADLINE}</div><div class='source'>{info}</div>{BODY}", "某某日报客户端"
        )
        x = extract(page, URL, "utf-8", now=NOW)
        assert (x.kind, x.title) == ("notice", HEADLINE), info
        assert x.date is not None and x.date.iso == "2026-11-03"
