"""Where a notice is set and which region it belongs to, from its title, publisher, URL and body's lead. Pure.

Used by the classifier to tell a programme's own actions from other places' news on the same themes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .normalize import fold
from .programmes import Reason

DISTRICTS = {
    "佛山": ("禅城区", "南海区", "顺德区", "三水区", "高明区"),
    "广州": (
        "越秀区",
        "海珠区",
        "荔湾区",
        "天河区",
        "白云区",
        "黄埔区",
        "番禺区",
        "花都区",
        "南沙区",
        "从化区",
        "增城区",
    ),
}
_HOSTS = {"nanhai.gov.cn": "南海区", "shunde.gov.cn": "顺德区", "ss.gov.cn": "三水区", "foshan.gov.cn": "佛山",
          "gz.gov.cn": "广州", "gzast.org.cn": "广州", "gd.gov.cn": "广东省"}  # fmt: skip
_CITIES = ("广州", "佛山", "深圳", "珠海", "东莞", "中山", "江门", "惠州", "肇庆")


def region_of(publisher: str | None, title: str, url: str = "") -> str | None:
    """The most specific place: a district, else a city, else 广东省; publisher first, then title, then URL."""
    for text in (fold(publisher or ""), fold(title)):
        for districts in DISTRICTS.values():
            for district in districts:
                if district in text:
                    return district
        for city in _CITIES:
            if city in text:
                return city
        if "广东省" in text or text.startswith("省") or "粤" in text[:4]:
            return "广东省"
    host = re.sub(r"^https?://([^/:]+).*$", r"\1", url)
    for suffix, region in _HOSTS.items():
        if host.endswith(suffix):
            return region
    return None


# Where a notice is set, to tell a programme's own actions from other places' news on the same themes.
# A place is a city (or a district or landmark of one), or a wider area (a province, 大湾区, 珠三角).
LEAD = 200  # the body's opening: the dateline and first sentence say where, and what the notice is about
_LANDMARKS = {
    "广州开发区": "广州",
    "生物岛": "广州",
    "知识城": "广州",
    "广州科学城": "广州",
    "南沙科学城": "广州",
    "中山大学": "广州",  # not the city of 中山
}
_OTHER_CITIES = (
    "北京", "上海", "天津", "重庆", "深圳", "杭州", "合肥", "南京", "武汉", "成都", "西安", "苏州", "长沙",
    "郑州", "济南", "青岛", "宁波", "厦门", "福州", "无锡", "常州", "沈阳", "大连", "长春", "哈尔滨",
    "石家庄", "太原", "南昌", "贵阳", "南宁", "昆明", "兰州", "汕头", "湛江", "韶关", "清远", "香港", "澳门",
    # other cities that run the same national schemes (科创中国 pilots, 高新区, 科学城): their news is theirs
    "嘉兴", "绍兴", "温州", "金华", "湖州", "台州", "扬州", "徐州", "南通", "泰州", "镇江", "盐城", "芜湖",
    "襄阳", "宜昌", "洛阳", "烟台", "潍坊", "泉州", "唐山", "廊坊", "株洲", "赣州", "柳州", "桂林", "绵阳",
    "揭阳", "潮州", "梅州", "河源", "汕尾", "阳江", "茂名", "云浮",
)  # fmt: skip
AREAS = (
    "广东", "粤港澳", "大湾区", "珠三角", "珠江三角洲", "长三角", "京津冀", "成渝", "江苏", "浙江", "安徽",
    "山东", "河南", "河北", "湖北", "湖南", "四川", "陕西", "福建", "江西", "广西", "云南", "贵州", "辽宁",
    "吉林", "黑龙江", "山西", "内蒙古", "新疆", "甘肃", "海南", "青海", "宁夏", "西藏",
)  # fmt: skip
_GUANGDONG = ("广东", "粤港澳", "大湾区", "珠三角", "珠江三角洲")


def _place_kinds() -> dict[str, str]:
    """Each place name → the city it is in, or itself for a city or a wider area."""
    kinds = {city: city for city in (*_CITIES, *_OTHER_CITIES)} | {area: area for area in AREAS}
    for city, districts in DISTRICTS.items():
        for district in districts:
            kinds[district] = city
            # 南沙科学城, 黄埔: Guangzhou's districts are often named without 区 (佛山's 南海 is also a sea)
            if city == "广州":
                kinds[district.removesuffix("区")] = city
    return kinds | _LANDMARKS


PLACE_KIND = _place_kinds()
_PLACE_RE = re.compile("|".join(sorted(map(re.escape, PLACE_KIND), key=len, reverse=True)))


def _places(text: str) -> list[str]:
    """The place names in a folded text. A name inside a longer word is not the place: 以上海洋 (above
    the sea) is not 上海 (a replace, as a look-behind in _PLACE_RE made it eight times slower)."""
    return _PLACE_RE.findall(text.replace("以上海", "以上_"))


def place_of(ftitle: str, flead: str) -> Reason | None:
    """Where a folded notice is set: the first city its title names (else the first wider area it names);
    without a place in the title, the same read from the body's lead, where a dateline (本报广州讯) says
    where the reporter was, not what the notice is about; several cities in the lead are given as
    "广州、深圳" (no one city's own action)."""
    names = _places(ftitle)
    cities = [n for n in names if PLACE_KIND[n] not in AREAS]
    if cities or names:
        return Reason(PLACE_KIND[(cities or names)[0]], "title", 1)
    dateline = _DATELINE.match(flead)
    if dateline and _places(flead[dateline.end() :]):
        flead = flead[dateline.end() :]
    names = _places(flead)
    cities = list(dict.fromkeys(PLACE_KIND[n] for n in names if PLACE_KIND[n] not in AREAS))
    areas = [PLACE_KIND[n] for n in names if PLACE_KIND[n] in AREAS]
    if len(cities) > 1:  # several cities: a shared theme, set nowhere unless all are one programme's others
        return Reason("、".join(cities), "body", 1)
    if cities or areas:
        return Reason((cities or areas)[0], "body", 1)
    return None


# 本报广州9月1日电, 中新网广州12月20日电, 【本报东莞讯】, 南方财经记者 广州报道
_DATELINE = re.compile(r"^[^。,;]{0,24}?(?:\d{1,2}月\d{1,2}日)?(?:电|讯|报道)[)】\]\s]*")


def foreign(place: str, regions: Sequence[str]) -> bool:
    """Is a place outside a programme's regions: another city, or a wider area that does not hold them
    (长三角 for a Guangzhou programme; 大湾区 and 珠三角 hold Guangzhou)?"""
    if "、" in place:  # several cities: foreign only when none of them is in the regions
        return all(foreign(city, regions) for city in place.split("、"))
    if not regions or within(place, regions):
        return False
    if place in _GUANGDONG:
        return not all(r == "广东省" or PLACE_KIND.get(r, r) in _CITIES for r in regions)
    return True


def within(place: str, regions: Sequence[str]) -> bool:
    """Is a place (a city or an area) inside one of the regions (cities, districts, 广东省)?"""
    if not regions:
        return True
    cities = {PLACE_KIND.get(r, r) for r in regions}
    if "广东省" in regions:
        cities |= {*_CITIES, *_GUANGDONG}
    return place in cities
