"""API keys: bearer tokens bound to one tenant and one role, stored only as sha256."""

import hashlib
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session, col, select

from api.deps import get_session
from models.tenancy import ApiKey, Role

KEY_PREFIX = "bpo_"
bearer = HTTPBearer(auto_error=False, description="API key as bearer token")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(session: Session, tenant_id: str, role: Role, label: str = "") -> str:
    """Create a key and return it; only its hash is stored, so it is shown once."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(tenant_id=tenant_id, role=role, key_hash=hash_key(key), prefix=key[:12], label=label))
    session.commit()
    return key


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    role: Role
    key_id: int
    label: str

    @property
    def name(self) -> str:
        return f"{self.role}:{self.label or self.key_id}"


def authenticate(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    session: Annotated[Session, Depends(get_session)],
) -> Principal:
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED, "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"}
    )
    if credentials is None or not credentials.credentials.startswith(KEY_PREFIX):
        raise unauthorized
    key = session.exec(
        select(ApiKey).where(ApiKey.key_hash == hash_key(credentials.credentials), col(ApiKey.revoked_at).is_(None))
    ).first()
    if key is None or key.id is None:
        raise unauthorized
    return Principal(tenant_id=key.tenant_id, role=Role(key.role), key_id=key.id, label=key.label)


def require(*roles: Role) -> object:
    """Dependency: the caller must hold one of ``roles`` (operators may do everything)."""

    def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role != Role.OPERATOR and principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role} may not do this")
        return principal

    return Depends(check)
