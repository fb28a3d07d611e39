"""Synthetic customer journeys for the demo organisation and for benchmarks.

Every customer gets a hidden intent in [0, 1] that drives behaviour the way it does in real
selling: high-intent prospects move through nodes faster, are touched at shorter gaps, call in
themselves more often and object less; low-intent ones stall, raise objections and get lost.
The intent is never stored in the CRM (it would leak the answer into the model); the plan
keeps it so evaluation can check what the model learned."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# For each playbook node key: which activity types happen there (weights) and where an amount
# shows up. Keys not listed fall back to DEFAULT_TYPES.
NODE_TYPES: dict[str, dict[str, float]] = {
    "answer_call": {"call": 5, "sms": 1},
    "appointment_call": {"call": 4, "sms": 2, "note": 1},
    "store_reception": {"visit": 5, "need": 1},
    "needs": {"need": 4, "meeting": 1, "note": 1},
    "recommend": {"proposal": 3, "visit": 1, "sms": 1},
    "test_drive": {"visit": 3, "feedback": 2},
    "quote": {"quote": 4, "call": 2, "email": 1},
    "close_follow_up": {"call": 3, "feedback": 2, "contract": 1},
    "lead_check": {"call": 3, "email": 2, "note": 1},
    "discovery": {"meeting": 3, "need": 3, "visit": 2},
    "demo": {"meeting": 3, "proposal": 2, "feedback": 1},
    "negotiation": {"meeting": 2, "call": 2, "feedback": 2, "email": 1},
    "contract": {"contract": 3, "email": 1},
    "payment": {"order": 2, "call": 1, "email": 1},
}
DEFAULT_TYPES = {"call": 2, "note": 1}
AMOUNT_TYPES = {"quote", "contract", "order", "proposal"}

CONTENT = {
    "call": ["电话沟通了{topic}", "{contact}来电询问{topic}", "给{contact}打电话确认{topic}"],
    "sms": ["短信发送了{topic}信息", "微信跟进{topic}"],
    "email": ["邮件发送{topic}资料", "{contact}回复邮件,关注{topic}"],
    "visit": ["拜访{contact},聊了{topic}", "{contact}到店看车,关注{topic}"],
    "meeting": ["和{contact}开会讨论{topic}", "线上会议:{topic}"],
    "need": ["记录需求:{topic}", "{contact}提出需求:{topic}"],
    "proposal": ["提交方案:{topic}", "推荐了{topic}"],
    "quote": ["报价:{topic}", "发送报价单,{topic}"],
    "contract": ["合同条款沟通:{topic}", "合同已发给{contact}审核"],
    "order": ["下单确认:{topic}", "回款进度:{topic}"],
    "feedback": ["{contact}反馈:{topic}"],
    "note": ["备注:{topic}"],
}
TOPICS = ["价格", "配置", "交付周期", "售后服务", "付款方式", "竞品对比", "优惠政策", "实施计划", "试驾感受", "预算"]
OBJECTIONS = ["觉得价格偏高", "还在对比竞品", "需要和家人/领导商量", "预算还没批下来", "担心交付周期"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉玲建国红梅飞鑫波宇浩凯俊帆晨阳欣怡博文子轩雨涵思远嘉豪"
COMPANY_HEAD = "恒通 华信 中盛 鼎力 博远 天成 嘉禾 瑞丰 宏达 金桥 海纳 长青 新锐 卓越 东方 星河 云启 智源 联创 安和 弘毅 正泰 润禾 鸿图".split()
COMPANY_TAIL = "科技 物流 制造 医药 建设 贸易 电子 食品 能源 材料 环保 传媒 教育 酒店 地产 汽配".split()
COMPANY_FORM = ["有限公司", "集团", "股份有限公司", ""]
INDUSTRY_BY_TAIL = {"科技": "IT", "电子": "IT", "物流": "物流", "制造": "制造", "汽配": "制造", "医药": "医疗",
                    "建设": "建筑", "地产": "建筑", "贸易": "贸易", "食品": "消费", "酒店": "消费",
                    "能源": "能源", "材料": "制造", "环保": "能源", "传媒": "传媒", "教育": "教育"}
SOURCES = ["来电", "官网", "展会", "转介绍", "抖音", "老客户", "地推"]


@dataclass
class PlannedActivity:
    type: str
    direction: str
    at: datetime
    content: str
    node_key: str
    amount: float | None = None


@dataclass
class PlannedNodeEvent:
    node_key: str
    outcome: str  # entered | done | skipped | failed
    at: datetime
    note: str = ""


@dataclass
class Journey:
    name: str
    industry: str | None
    source: str
    contact: str
    intent: float
    start: datetime
    activities: list[PlannedActivity] = field(default_factory=list)
    node_events: list[PlannedNodeEvent] = field(default_factory=list)
    current_node: str | None = None
    entered_at: datetime | None = None
    status: str = "lead"  # lead | active | won | lost
    closed_at: datetime | None = None
    follow_up_at: datetime | None = None


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def company_name(rng: random.Random) -> tuple[str, str]:
    tail = rng.choice(COMPANY_TAIL)
    return rng.choice(COMPANY_HEAD) + tail + rng.choice(COMPANY_FORM), INDUSTRY_BY_TAIL[tail]


def simulate_journey(rng: random.Random, node_keys: list[str], *, anchor: datetime, b2b: bool,
                     max_age_days: float = 240.0) -> Journey:
    """One customer's history up to `anchor` (exclusive)."""
    intent = rng.betavariate(1.4, 1.6)
    if b2b:
        name, industry = company_name(rng)
    else:
        name, industry = person_name(rng), None
    contact_person = person_name(rng)[0] + rng.choice(["总", "经理", "先生", "女士"])
    start = anchor - timedelta(days=rng.uniform(3, max_age_days), hours=rng.uniform(0, 8))
    start = start.replace(hour=rng.randint(9, 17), minute=rng.randint(0, 59), second=0, microsecond=0)
    j = Journey(name, industry, rng.choice(SOURCES), contact_person, intent, start)
    base_gap = 6.0 if b2b else 2.5
    t = start
    ran_out = False

    def touch(node: str) -> bool:
        nonlocal t
        gap = rng.expovariate(1.0 / (base_gap * (1.7 - intent)))
        nxt = t + timedelta(days=gap)
        nxt = nxt.replace(hour=rng.randint(9, 19), minute=rng.randint(0, 59))
        if nxt <= t:
            nxt = t + timedelta(minutes=rng.randint(20, 180))
        if nxt >= anchor:
            return False
        t = nxt
        typ = _pick(rng, NODE_TYPES.get(node, DEFAULT_TYPES))
        if rng.random() < 0.35 * (1 - intent):
            typ = "feedback"
            content = f"{contact_person}{rng.choice(OBJECTIONS)}"
        else:
            content = rng.choice(CONTENT[typ]).format(topic=rng.choice(TOPICS), contact=contact_person)
        direction = "in" if rng.random() < 0.1 + 0.5 * intent else "out"
        amount = None
        if typ in AMOUNT_TYPES:
            amount = round(rng.uniform(50_000, 2_000_000) if b2b else rng.uniform(120_000, 450_000), -2)
        j.activities.append(PlannedActivity(typ, direction, t, content, node, amount))
        return True

    j.node_events.append(PlannedNodeEvent(node_keys[0], "entered", start))
    j.current_node, j.entered_at = node_keys[0], start
    for i, node in enumerate(node_keys):
        attempts = 0
        while True:
            n_touches = 1 + int(rng.expovariate(1.0 / (0.6 + 1.2 * (1 - intent))))
            for _ in range(n_touches):
                if not touch(node):
                    ran_out = True
                    break
            if ran_out:
                break
            if j.status == "lead":
                j.status = "active"
            roll = rng.random()
            p_pass = 0.45 + 0.5 * intent
            if roll < p_pass:
                outcome = "skipped" if (rng.random() < 0.06 and i not in (0, len(node_keys) - 1)) else "done"
                j.node_events.append(PlannedNodeEvent(node, outcome, t))
                break
            attempts += 1
            if rng.random() < 0.55 * (1 - intent) or attempts >= 3:
                j.node_events.append(PlannedNodeEvent(node, "failed", t, rng.choice(OBJECTIONS)))
                j.status, j.closed_at = "lost", t
                return j
            j.node_events.append(PlannedNodeEvent(node, "failed", t, rng.choice(OBJECTIONS)))
        if ran_out:
            break
        if i + 1 < len(node_keys):
            j.current_node, j.entered_at = node_keys[i + 1], t
            j.node_events.append(PlannedNodeEvent(node_keys[i + 1], "entered", t))
        else:
            j.current_node, j.entered_at = None, t
            j.status, j.closed_at = "won", t
    if j.status in ("lead", "active"):
        days = rng.uniform(-4, 7) * (1.5 - intent)
        j.follow_up_at = (anchor + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return j
