"""Which Prüfidentifikatoren a supply-start process sends and which answers it expects (REFERENCE 2.1, 3)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Exchange:
    request: str
    confirmations: frozenset[str]
    rejections: frozenset[str]
    answer_hour: int | None
    """The answer is due by this hour of the 1st working day after sending (None: by its end)."""
    informations: frozenset[str] = frozenset()

    @property
    def answers(self) -> frozenset[str]:
        return self.confirmations | self.rejections | self.informations


REGISTRATION = {
    "strom": Exchange("55001", frozenset({"55002"}), frozenset({"55003"}), 11, frozenset({"55036"})),
    "gas": Exchange("44001", frozenset({"44002"}), frozenset({"44003"}), 11, frozenset({"44036"})),
}
CANCELLATION = {
    "strom": Exchange("55016", frozenset({"55017"}), frozenset({"55018"}), None),
    "gas": Exchange("44016", frozenset({"44017"}), frozenset({"44018"}), None),
}

FINAL_ANSWERS = frozenset().union(
    *(e.confirmations | e.rejections for e in (*REGISTRATION.values(), *CANCELLATION.values()))
)
"""Answers that settle a request (information messages such as 55036 do not)."""

ASSOCIATION = {"strom": "S2.1", "gas": "G1.1"}
NAD_CODE_LIST = {"strom": "293", "gas": "332"}
UNB_QUALIFIER = {"strom": "500", "gas": "502"}


def exchange(kind: str, division: str) -> Exchange:
    table = REGISTRATION if kind == "registration" else CANCELLATION
    return table[division]
