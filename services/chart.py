"""A tenant's chart of accounts per division, and booking a business event through the account assignment."""

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from models.ledger import AccountKind, LedgerAccount
from rules.kontierung import DEFAULT_CHART, PARTY, assign
from services.ledger import Line, PostingRequest, post

Chart = dict[str, tuple[str, str]]
"""GL role -> (account number, name)."""


def ensure_chart(session: Session, tenant_id: str, division: str, chart: Chart | None = None) -> dict[str, int]:
    """Create the GL accounts of the division (the tenant's numbers where given); returns role -> account id.

    A role the division already has keeps its account, whatever its number."""
    roles = DEFAULT_CHART | (chart or {})
    found = _gl_accounts(session, tenant_id, division)
    if set(roles) - set(found):  # first use of the division: one statement creates what is missing
        session.execute(
            insert(LedgerAccount)
            .values(
                [
                    {
                        "tenant_id": tenant_id,
                        "division": division,
                        "kind": AccountKind.GL,
                        "number": number,
                        "name": name,
                        "gl_role": role,
                    }
                    for role, (number, name) in roles.items()
                    if role not in found
                ]
            )
            .on_conflict_do_nothing()
        )
        found = _gl_accounts(session, tenant_id, division)
    missing = sorted(set(roles) - set(found))
    if missing:
        raise ValueError(f"chart of {tenant_id}/{division}: no account for {', '.join(missing)} (number taken?)")
    return found


def _gl_accounts(session: Session, tenant_id: str, division: str) -> dict[str, int]:
    rows = session.exec(
        select(LedgerAccount.gl_role, LedgerAccount.id).where(
            LedgerAccount.tenant_id == tenant_id,
            LedgerAccount.division == division,
            LedgerAccount.kind == AccountKind.GL,
        )
    ).all()
    return {role: account_id for role, account_id in rows if role and account_id is not None}


def party_account(session: Session, tenant_id: str, division: str, kind: str, number: str, name: str) -> int:
    """The debtor (contract account number) or creditor (partner code number) account, created on first use."""
    session.execute(
        insert(LedgerAccount)
        .values(tenant_id=tenant_id, division=division, kind=kind, number=number, name=name)
        .on_conflict_do_nothing(index_elements=["tenant_id", "division", "number"])
    )
    account = session.exec(
        select(LedgerAccount).where(
            LedgerAccount.tenant_id == tenant_id, LedgerAccount.division == division, LedgerAccount.number == number
        )
    ).one()
    if account.kind != kind or account.id is None:
        raise ValueError(f"account {number} of {tenant_id}/{division} is a {account.kind} account, not {kind}")
    return account.id


def book(
    session: Session,
    *,
    tenant_id: str,
    division: str,
    doc_type: str,
    key: str,
    posting_date: date,
    amounts: dict[str, Decimal],
    party_account_id: int | None = None,
    due_date: date | None = None,
    quantity_kwh: Decimal | None = None,
    origin: str = "",
    text: str = "",
) -> int:
    """Book a business event through the account assignment; idempotent per ``key``.

    ``party_account_id`` is the debtor or creditor the rule names, if it names one."""
    accounts = ensure_chart(session, tenant_id, division)
    legs = assign(doc_type, division, amounts)
    if party_account_id is None and any(leg.account in PARTY for leg in legs):
        raise ValueError(f"{doc_type} books to a debtor or creditor: party_account_id is needed")
    lines = [
        Line(
            account_id=party_account_id if leg.account in PARTY and party_account_id else accounts[leg.account],
            debit=leg.amount if leg.side == "debit" else Decimal("0.00"),
            credit=leg.amount if leg.side == "credit" else Decimal("0.00"),
            due_date=(due_date or posting_date) if leg.open_item else None,
            text=text,
        )
        for leg in legs
    ]
    return post(
        session,
        PostingRequest(
            tenant_id=tenant_id,
            division=division,
            doc_type=doc_type,
            posting_date=posting_date,
            idempotency_key=key,
            origin=origin,
            text=text,
            quantity_kwh=quantity_kwh,
            lines=lines,
        ),
    )


def debtor_accounts(session: Session, tenant_id: str, contract_ids: Sequence[int]) -> dict[int, int]:
    """Contract id -> the debtor account of its contract account in its division, created on first use."""
    rows = session.execute(
        text(
            """
            SELECT c.id AS contract_id, c.division, a.account_number,
                   coalesce(nullif(cu.company, ''), trim(cu.first_name || ' ' || cu.last_name)) AS name
            FROM contract c JOIN contract_account a ON a.id = c.account_id JOIN customer cu ON cu.id = c.customer_id
            WHERE c.id = ANY(:ids)
            """
        ),
        {"ids": list(set(contract_ids))},
    ).all()
    wanted = {(row.division, row.account_number): row.name for row in rows}
    session.execute(
        insert(LedgerAccount)
        .values(
            [
                {
                    "tenant_id": tenant_id,
                    "division": division,
                    "kind": AccountKind.DEBTOR,
                    "number": number,
                    "name": name,
                    "created_at": datetime.now(UTC),
                }
                for (division, number), name in wanted.items()
            ]
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "division", "number"])
    )
    accounts = {
        (account.division, account.number): account
        for account in session.exec(
            select(LedgerAccount).where(
                LedgerAccount.tenant_id == tenant_id,
                col(LedgerAccount.number).in_([number for _, number in wanted]),
            )
        )
    }
    result = {}
    for row in rows:
        account = accounts[(row.division, row.account_number)]
        if account.kind != AccountKind.DEBTOR or account.id is None:
            raise ValueError(f"ledger account {row.account_number} of {row.division} is not a debtor account")
        result[row.contract_id] = account.id
    return result
