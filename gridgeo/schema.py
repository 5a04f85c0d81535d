"""Layer specifications: the columns each input layer has, their types, and the
Chinese headers accepted for them.

One table is the single source for the loaders (``io``), the README and the UI:
``LAYERS[name].fields`` lists every field with its type, whether it is required,
its meaning, and its accepted aliases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FieldType = Literal["str", "int", "float", "bool", "datetime", "choice"]
GeomKind = Literal["polygon", "point", "line", "polygon_or_point", "none"]


@dataclass(frozen=True)
class FieldSpec:
    """One column of a layer."""

    name: str
    type: FieldType
    required: bool
    meaning: str
    aliases: tuple[str, ...] = ()
    #: for ``choice`` fields: accepted spellings -> canonical value
    choices: dict[str, str] = field(default_factory=dict)
    default: object = None
    #: for ``int`` fields: the smallest accepted value
    minimum: int = 1


@dataclass(frozen=True)
class LayerSpec:
    """One input layer: its id field, geometry kind and fields."""

    name: str
    title: str
    geometry: GeomKind
    id_field: str | None
    fields: tuple[FieldSpec, ...]
    formats: str

    def field(self, name: str) -> FieldSpec:
        """Return the spec of field ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the required fields."""
        return tuple(f.name for f in self.fields if f.required)


_TRUE = ("1", "true", "yes", "y", "t", "是", "紧急", "特急", "加急", "满意", "非常满意", "基本满意", "√", "urgent", "high")
_FALSE = ("0", "false", "no", "n", "f", "否", "不紧急", "一般", "普通", "不满意", "非常不满意", "normal", "low", "")
BOOL_VALUES: dict[str, bool] = {**{v: True for v in _TRUE}, **{v: False for v in _FALSE}}

COMMUNITY_KINDS = {"urban": "urban", "城市": "urban", "城镇": "urban", "社区": "urban",
                   "rural": "rural", "农村": "rural", "村": "rural", "乡村": "rural"}

STATION_KINDS = {
    "party_mass_centre": "party_mass_centre", "党群服务中心": "party_mass_centre",
    "doorstep_station": "doorstep_station", "家门口服务站": "doorstep_station",
    "compound_post": "compound_post", "小区驿站": "compound_post",
    "other": "other", "其他": "other",
}

STAFF_ROLES = {
    "leader": "leader", "网格长": "leader",
    "worker": "worker", "网格员": "worker", "专职网格员": "worker", "兼职网格员": "worker",
    "instructor": "instructor", "网格指导员": "instructor",
    "party_secretary": "party_secretary", "网格党支部书记": "party_secretary",
}

BUILDING_USES = {
    "residential": "residential", "住宅": "residential", "居住": "residential", "住宅楼": "residential",
    "school": "school", "学校": "school", "幼儿园": "school", "小学": "school", "中学": "school",
    "hospital": "hospital", "医院": "hospital", "卫生院": "hospital", "诊所": "hospital",
    "社区卫生服务中心": "hospital",
    "market": "market", "市场": "market", "菜市场": "market", "农贸市场": "market", "商场": "market",
    "office": "office", "办公": "office", "办公楼": "office", "写字楼": "office",
    "other": "other", "其他": "other", "其它": "other", "商业": "other", "配套": "other",
}

GRID_KINDS = {"basic": "basic", "基础网格": "basic", "基础": "basic", "一般网格": "basic",
              "dedicated": "dedicated", "专属网格": "dedicated", "专属": "dedicated", "专业网格": "dedicated"}

EMPLOYMENT = {"full_time": "full_time", "full": "full_time", "专职": "full_time",
              "part_time": "part_time", "part": "part_time", "兼职": "part_time"}

_F = FieldSpec

COMMUNITIES = LayerSpec(
    name="communities", title="社区 communities", geometry="polygon", id_field="community_id",
    formats="GeoJSON, GeoPackage, zipped Shapefile, CSV with WKT",
    fields=(
        _F("community_id", "str", True, "community code (12-digit statistical code recommended)",
           ("社区编码", "社区代码", "社区编号", "编码", "code")),
        _F("name", "str", True, "community name", ("社区名称", "名称", "社区")),
        _F("street", "str", False, "street (街道) or town the community belongs to",
           ("街道", "所属街道", "街道办事处", "镇街"), default=""),
        _F("kind", "choice", False, "urban or rural; rural grids follow villager groups",
           ("类型", "城乡类型", "城乡"), COMMUNITY_KINDS, default="urban"),
    ),
)

BUILDINGS = LayerSpec(
    name="buildings", title="楼栋 buildings", geometry="polygon_or_point", id_field="building_id",
    formats="GeoJSON, GeoPackage, zipped Shapefile, CSV with lon/lat or WKT",
    fields=(
        _F("building_id", "str", True, "building id", ("楼栋编码", "楼栋编号", "建筑编码", "楼号编码", "id")),
        _F("households", "int", True, "number of households (户数), a whole number ≥ 0 (0: non-residential)",
           ("户数", "住户数", "总户数", "hh"), minimum=0),
        _F("units", "int", False, "number of units/entrances (单元); used to split towers",
           ("单元数", "单元")),
        _F("floors", "int", False, "number of floors", ("层数", "楼层数", "楼层")),
        _F("compound_id", "str", False, "residential compound (小区) id; kept whole in one grid",
           ("小区编码", "小区编号", "小区", "小区名称")),
        _F("community_id", "str", False, "community code; derived by spatial join when absent",
           ("社区编码", "社区代码", "社区编号")),
        _F("name", "str", False, "building name or address", ("楼栋名称", "名称", "地址")),
        _F("use", "choice", False, "住宅 residential / 学校 school / 医院 hospital / 市场 market / 办公 office / "
           "其他 other; non-residential buildings usually have 0 households", ("用途", "建筑用途", "使用性质",
                                                                                "楼栋类型", "kind"),
           BUILDING_USES),
    ),
)

STREETS = LayerSpec(
    name="streets", title="道路 streets", geometry="line", id_field=None,
    formats="GeoJSON, GeoPackage, zipped Shapefile, CSV with WKT",
    fields=(
        _F("street_id", "str", False, "road id", ("道路编码", "编号")),
        _F("name", "str", False, "road name", ("道路名称", "路名", "名称")),
        _F("kind", "str", False, "road class (arterial, secondary, lane …)", ("道路等级", "等级", "类型")),
    ),
)

STATIONS = LayerSpec(
    name="stations", title="服务站点 service stations", geometry="point", id_field="station_id",
    formats="GeoJSON, GeoPackage, zipped Shapefile, CSV/XLSX with lon/lat",
    fields=(
        _F("station_id", "str", True, "station id", ("站点编码", "站点编号", "编号")),
        _F("name", "str", True, "station name", ("站点名称", "名称")),
        _F("kind", "choice", True, "党群服务中心 / 家门口服务站 / 小区驿站 / other",
           ("类型", "站点类型"), STATION_KINDS),
    ),
)

STAFF = LayerSpec(
    name="staff", title="网格人员 staff roster", geometry="none", id_field="staff_id",
    formats="CSV, XLSX",
    fields=(
        _F("staff_id", "str", True, "staff id", ("工号", "人员编号", "编号")),
        _F("name", "str", True, "name", ("姓名", "名字")),
        _F("role", "choice", True, "网格长 leader / 网格员 worker / 网格指导员 instructor …",
           ("岗位", "角色", "职务"), STAFF_ROLES),
        _F("employment", "choice", True, "专职 full_time / 兼职 part_time",
           ("专兼职", "用工类型", "性质"), EMPLOYMENT),
        _F("phone", "str", False, "phone number (masked on display)", ("电话", "手机", "联系电话")),
        _F("lon", "float", False, "home longitude (WGS 84)", ("经度", "longitude", "lng", "x")),
        _F("lat", "float", False, "home latitude (WGS 84)", ("纬度", "latitude", "y")),
        _F("grid_id", "str", False, "grid the person serves, when already assigned", ("网格编码", "网格")),
    ),
)

CASES = LayerSpec(
    name="cases", title="事件 cases", geometry="none", id_field="case_id",
    formats="CSV (UTF-8, BOM, GBK), XLSX (lon/lat, WKT POINT or \"(lat, lon)\"; WGS 84, GCJ-02 or BD-09)",
    fields=(
        _F("case_id", "str", True, "case or ticket id",
           ("工单编号", "事件编号", "工单号", "编号", "留言编号", "案件编号", "诉求编号", "ticket_id", "id",
            "case id", "ticket no", "ticket number")),
        _F("created_at", "datetime", True, "time received (Asia/Shanghai unless a zone is given)",
           ("创建时间", "受理时间", "上报时间", "留言时间", "来电时间", "登记时间", "立案时间", "发生时间",
            "created", "received_at", "reported_at", "created time", "create time", "date")),
        _F("closed_at", "datetime", False, "time completed",
           ("办结时间", "结案时间", "答复时间", "回复时间", "完成时间", "closed", "closed time", "close time",
            "resolved_at")),
        _F("category", "str", False, "category (物业, 停车 …); blank means 未分类",
           ("类别", "事件类别", "诉求类别", "分类", "工单类别", "事项分类", "问题分类", "案件类别", "type",
            "case type"), default="未分类"),
        _F("channel", "str", False, "12345 hotline, grid patrol, mini-program …",
           ("渠道", "来源", "受理渠道", "来源渠道", "诉求渠道", "source"), default=""),
        _F("urgent", "bool", False, "urgent flag (feedback the same day)",
           ("紧急", "是否紧急", "紧急程度", "urgency", "priority"), default=False),
        _F("status", "str", False, "status (open, closed …)",
           ("状态", "办理状态", "工单状态", "处理状态", "案件状态"), default=""),
        _F("satisfied", "bool", False, "citizen satisfied at follow-up",
           ("满意", "是否满意", "满意度", "回访满意度", "评价结果", "satisfaction")),
        _F("department", "str", False, "department in charge",
           ("承办部门", "责任部门", "部门", "承办单位", "处理部门", "责任单位", "department")),
        _F("text", "str", False, "what the caller asked (used to merge repeated calls)",
           ("诉求内容", "留言主题", "留言内容", "事件描述", "问题描述", "标题", "内容", "description", "subject",
            "content", "summary")),
        _F("address", "str", False, "address text (matched to buildings and compounds when no coordinates)",
           ("诉求地址", "事发地址", "事件地址", "地址", "发生地点", "地点", "位置描述", "address", "location text")),
        _F("lon", "float", False, "longitude", ("经度", "longitude", "lng", "x", "x坐标")),
        _F("lat", "float", False, "latitude", ("纬度", "latitude", "y", "y坐标")),
        _F("location", "str", False, "one coordinate column: WKT POINT (lon lat) or \"(lat, lon)\" text",
           ("坐标", "位置", "经纬度", "geometry", "wkt", "point", "coordinates", "latlon", "lat_lon")),
    ),
)

GRIDS = LayerSpec(
    name="grids", title="网格 grids", geometry="polygon", id_field="grid_id",
    formats="GeoJSON, GeoPackage, zipped Shapefile, CSV with WKT",
    fields=(
        _F("grid_id", "str", True, "grid code (community code + 3-digit serial recommended)",
           ("网格编码", "网格编号", "网格代码", "网格号", "code")),
        _F("name", "str", False, "grid name", ("网格名称", "名称"), default=""),
        _F("community_id", "str", False, "community code; derived from the grid's location when absent",
           ("社区编码", "社区代码", "社区编号")),
        _F("kind", "choice", False, "basic grid, or dedicated grid (专属网格: school, hospital, market, park)",
           ("网格类型", "类型"), GRID_KINDS, default="basic"),
        _F("valid_from", "datetime", False, "date the grid took effect", ("启用日期", "生效日期", "启用时间")),
        _F("valid_to", "datetime", False, "date the grid was retired", ("停用日期", "失效日期", "停用时间")),
    ),
)

LAYERS: dict[str, LayerSpec] = {
    s.name: s for s in (COMMUNITIES, BUILDINGS, STREETS, STATIONS, STAFF, CASES, GRIDS)
}

#: Accepted header spellings (lower-cased, stripped) -> canonical field, per layer.
#: Shapefiles cut field names to 10 characters (``community_id`` -> ``community_``),
#: so the cut form of each canonical name is accepted too.
HEADER_ALIASES: dict[str, dict[str, str]] = {
    spec.name: {
        alias.strip().lower(): f.name
        for f in spec.fields
        for alias in (f.name[:10], f.name, *f.aliases)
    }
    for spec in LAYERS.values()
}


def markdown_table(layer: str) -> str:
    """Render a layer's fields as a Markdown table (used for the README)."""
    spec = LAYERS[layer]
    rows = ["| field | type | required | meaning | accepted headers |", "|---|---|---|---|---|"]
    for f in spec.fields:
        rows.append(
            f"| `{f.name}` | {f.type} | {'yes' if f.required else 'no'} | {f.meaning} | "
            f"{', '.join(f.aliases)} |"
        )
    return "\n".join(rows)
