"""The deadline finder (watcher/extract/deadline.py): the applicant's last date, or none, for the kinds of
phrase issue 21 lists. The phrases are written for these tests; the real passages are scored by
tests/test_realpages.py."""

from __future__ import annotations

import datetime as dt

import pytest

from watcher.extract import extract
from watcher.extract.deadline import choose, deadline_candidates, find_deadline
from watcher.models import DateValue

PUBLISHED = DateValue(dt.date(2026, 11, 2))

CASES = [
    # one date after 即日起至, no 截止
    ("申报时间：即日起至2026年12月26日17:00。", "2026-12-26"),
    # online, then paper: the applicant must meet the later one
    ("网上申报截止时间为12月10日17:00；请于12月15日17:00前将书面材料一式两份送交市科技局。", "2026-12-15"),
    # an extension: the new date wins over the old
    ("原申报截止时间为2026年11月20日，现延长至2026年11月30日。", "2026-11-30"),
    ("因系统升级，申报截止时间延期至12月3日。", "2026-12-03"),
    # the thing extended written between 延长 and 至, and 延迟至
    ("截至11月20日申报期结束，现延长上述项目申报期限至2026年11月27日。", "2026-11-27"),
    ("现将网上申报审核时间延迟至2026年11月11日23:59。", "2026-11-11"),
    # two extensions, the later one the 科技部门's own review: the applicants' is kept
    (
        "将企业提交申报材料的截止时间延长至12月5日，地市科技部门完成审核推荐的截止时间延长至12月26日。",
        "2026-12-05",
    ),
    # an extension only if a condition holds: the one given outright wins
    ("截止日期现顺延至12月1日。如8号风球明天下午仍然生效，截止日期将延至12月2日。", "2026-12-01"),
    # not the applicant's: an eligibility condition, then the real date
    ("申报企业注册时间应在2025年12月31日前；网上申报截止时间为2026年12月5日。", "2026-12-05"),
    # the district bureau's forwarding date after the applicants'
    (
        "企业网上申报截止时间为12月1日24:00。各区科技主管部门审核汇总后，于12月8日前将推荐函报送市科技局。",
        "2026-12-01",
    ),
    # the districts' date for their recommendations, written before the applicants' own
    ("各区科技局请于12月25日前将推荐材料报送市科技局。企业网上申报截止时间为12月20日。", "2026-12-20"),
    ("各区县请于12月12日前将推荐名单报送我局。", "2026-12-12"),  # the only date: still told
    # the issuer's review after the applications is no one's deadline; 前报 hands in
    (
        "项目于2026年12月10日前报市科技局备案。市科技局将于12月30日前组织有关专家对申报项目进行评审。",
        "2026-12-10",
    ),
    # ranges written with ——, - and 至, and a list of days
    ("报名时间：2026年11月20日——12月4日。", "2026-12-04"),
    ("受理时间 2026年11月26-12月1日", "2026-12-01"),
    ("申报工作将于11月10日至11月28日进行。", "2026-11-28"),
    ("报名时间：2026年12月9日、10日。", "2026-12-10"),
    # …前受理, 填报时间 M月D日前
    ("2026年12月31日前受理本年度企业提交的信息表。", "2026-12-31"),
    ("填报时间：请于12月20日前登陆系统填报。", "2026-12-20"),
    # a date without 前: handed in that day, 逾期不再受理
    ("请于2026年12月7日（8:00-17:00）报送至局人事科，逾期不再受理。", "2026-12-07"),
    # none: a results notice, statistics as of a day, news, a standing rule, an event's period
    ("现将拟立项项目予以公示，公示期为2026年11月3日至11月9日，如有异议请于公示期内反馈。", None),
    ("截至10月31日，全市累计认定高新技术企业1200家。", None),
    ("11月1日，第五届创新大赛决赛在市民中心举行。", None),
    ("参保人员须在费用发生日次年3月1日前提交报销申请。", None),
    ("活动时间为2026年12月1日至12月3日。", None),
    # standing dates listed for every quarter: no one deadline
    ("申报截止时间为每季度最后一个月的20日（3月20日、6月20日、9月20日、12月20日）前。", None),
    # a date that sorts who may enter, not a deadline
    ("工商注册时间在2025年12月31日（含）之前的企业只能参加成长组比赛。", None),
    # 不得晚于: the latest day allowed
    ("报名截止时间由各地自行决定，但不得晚于2026年12月15日。", "2026-12-15"),
    # a period after 应当在 with what to hand in; 之前领取营业执照 says who must report
    (
        "凡于2025年12月31日之前领取营业执照的企业，应当在2026年1月1日至6月30日，登录公示系统报送年度报告，并向社会公示。",
        "2026-06-30",
    ),
    # an event's period with how to enter after it, and the end of a 公示: no deadline
    ("大赛于2026年12月1日至12月3日举行，参赛报名请登录大赛官网。", None),
    ("拟立项项目名单公示截止时间为2026年12月5日。", None),
    # a date in Chinese numerals, …或之前
    ("申办团体须于二○二六年十二月十七日下午五时或之前，把已填妥的申请表交抵教育局。", "2026-12-17"),
    # a Minguo year (114年 = 2025), 函报
    ("各機關如有提案需求，請務必於114年12月8日（星期一）前函報本府。", "2025-12-08"),
    # an office, the subject, reporting its contact to the issuer: the office's date, not the applicants'
    (
        "一、请各区主管部门积极组织企业申报，并于12月6日前将联系人及电话反馈我局。"
        "二、请各区主管部门认真审核，于12月20日前将推荐材料报送我局。",
        "2026-12-20",
    ),
]


def test_with_no_publish_date_a_month_day_takes_the_year_the_text_names_next() -> None:
    got = find_deadline("请于5月7日前提交《2026年度申报汇总表》。", None)
    assert got is not None and got.iso == "2026-05-07"


@pytest.mark.parametrize(("text", "want"), CASES)
def test_the_applicants_last_date(text: str, want: str | None) -> None:
    got = find_deadline(text, PUBLISHED)
    assert (got.iso if got else None) == want


def test_every_candidate_says_its_role_and_the_winner_is_the_applicants() -> None:
    text = (
        "我局将对申报项目进行审核，于2026年12月10日前完成审核推荐。"
        "请各单位于2026年12月3日前将申报书提交至我局；港澳台项目申报单位于2026年12月20日前提交。"
    )
    found = deadline_candidates(text, PUBLISHED)
    roles = {c.date.iso: c.role for c in found}
    assert roles == {"2026-12-10": "forwarding", "2026-12-03": "applicant", "2026-12-20": "subset"}
    winner = choose(found)
    assert winner is not None and winner.date.iso == "2026-12-03" and "提交" in winner.phrase


def test_a_date_split_across_spans_is_read_on_the_page() -> None:
    page = (
        "<html><head><title>关于组织申报2026年度科技项目的通知</title></head><body>"
        "<h1>关于组织申报2026年度科技项目的通知</h1><div>发布时间：2026-11-02</div>"
        "<div class='content'><p>各有关单位：</p>"
        "<p>申报时间：即日起至<span>2026</span>年<span>12</span>月<span>2</span><span>6</span>日17:00。</p>"
        "<p>请按要求提交材料。</p></div></body></html>"
    )
    x = extract(page, "http://kjj.example.gov.cn/tzgg/1.html", "utf-8")
    assert x.kind == "notice" and x.deadline is not None and x.deadline.iso == "2026-12-26"


def test_traditional_script_reads_the_same() -> None:
    text = "企業提交信息表的受理截止日期為10月20日。請省級科技管理部門於10月31日前完成公示。"
    got = find_deadline(text, PUBLISHED)
    assert got is not None and got.iso == "2026-10-20"


@pytest.mark.parametrize(
    ("title", "want"),
    [
        ("关于2026年度市科技计划拟立项项目的公示", None),
        ("2026年度科学技术奖获奖名单", None),
        ("关于组织推荐2026年度科学技术奖提名项目的通知", "2026-03-01"),
        ("关于报送2026年科技特派员推荐名单的通知", "2026-03-01"),
    ],
)
def test_a_results_notice_has_no_deadline_from_the_round_it_closes(title: str, want: str | None) -> None:
    text = "本年度提名截止日期为2026年3月1日，经形式审查、专家评审，现将有关情况公布如下。"
    got = find_deadline(text, PUBLISHED, title)
    assert (got.iso if got else None) == want


def test_a_month_day_early_in_the_year_after_a_december_notice_is_next_years() -> None:
    december = DateValue(dt.date(2026, 12, 18))
    got = find_deadline("请于1月15日前将申报材料报送市科技局。", december)
    assert got is not None and got.iso == "2027-01-15"
    june = DateValue(dt.date(2026, 6, 1))
    got = find_deadline("请于3月1日前将申报材料报送市科技局。", june)
    assert got is not None and got.iso == "2026-03-01"  # a date that passed stays in its year
