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


SUPPLIER_RECEIVES = frozenset(
    {
        # UTILMD Strom (REFERENCE 2.1): answers to our requests, requests to us as old supplier, master data
        *("55002", "55003", "55005", "55006", "55007", "55010", "55013", "55016", "55017", "55018"),
        *("55022", "55023", "55024", "55035", "55036", "55037", "55038", "55078", "55080", "55095"),
        *("55126", "55137", "55218", "55602", "55603", "55604", "55605"),
        *("55615", "55616", "55617", "55618", "55619", "55620"),
        # UTILMD Gas (REFERENCE 3)
        *("44002", "44003", "44005", "44006", "44007", "44010", "44013", "44016", "44017", "44018"),
        *("44019", "44020", "44022", "44023", "44024", "44036", "44037", "44038", "44103", "44104"),
    }
)
"""UTILMD Prüfidentifikatoren a supplier processes; any other is answered with APERAK Z31."""
