"""The numbers and word lists the rules use, as plain values (built from the config by bot/)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from types import MappingProxyType
from typing import Literal

Mode = Literal["apply", "suggest", "off"]

DEFAULT_STATUS_HINTS: Mapping[str, str] = MappingProxyType(
    {
        "일정 불가": "종결(일정)",
        "지역": "종결(지역)",
        "연락 두절": "종결(연락두절)",
        "비싼 가격": "종결(고객취소)",
        "자체 해결": "종결(고객취소)",
        "타 업체 계약": "종결(고객취소)",
        "일정 변경": "종결(고객취소)",
        "이사 취소": "종결(고객취소)",
        "업체 불친절": "종결(고객취소)",
    }
)

DEFAULT_PRICE_REASONS: tuple[str, ...] = ("비싼 가격", "가격", "비쌈", "금액")

# contact.attempts: an OB row whose 상세내용 or 취소 사유 holds one of these is a failed call
DEFAULT_NO_ANSWER_WORDS: tuple[str, ...] = (
    "부재", "미응답", "무응답", "안 받음", "연결 안 됨", "연락 안 됨", "통화 불가", "수신 거부",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """Everything a rule may be told. Defaults are the desk's (RULES.md)."""

    modes: Mapping[str, Mode] = field(default_factory=dict)  # rule id -> mode; missing = default
    promote_within_days: int = 60  # longterm.promote: D-60 and closer
    window_min_days: int = 60  # 장기견적 / 장기무료: move 60–90 days after intake
    window_max_days: int = 90
    settlement_day: int = 3  # settlement of month M: day 3 of M+1 ...
    settlement_time: time = time(10, 0)  # ... at 10:00 KST
    price_reasons: tuple[str, ...] = DEFAULT_PRICE_REASONS
    status_hints: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_STATUS_HINTS))
    return_pending_hours: int = 24
    no_answer_words: tuple[str, ...] = DEFAULT_NO_ANSWER_WORDS
    followup_after_days: int = 3  # 해피콜 (digest, report): due this many days after the move,
    followup_until_days: int = 30  # listed up to this many,
    followup_due_days: int = 7  # and late (해피콜 지연) past this many
    only_rules: frozenset[str] | None = None  # `--rule`: only these rules' changes and findings
